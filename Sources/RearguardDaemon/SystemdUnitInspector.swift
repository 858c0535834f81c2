import DBus
import Logging
import RearguardCore
import Systemd

/// Core's `UnitInspector` port over sd-bus: reads with a `Bus`, watches with `UnitWatch`.
public struct SystemdUnitInspector: UnitInspector {
    /// The bus used for reads.
    public let bus: Bus
    private let logger: Logger

    /// Creates an inspector on `bus`; watches open their own connection to the same address.
    public init(bus: Bus, logger: Logger) {
        self.bus = bus
        self.logger = logger
    }

    /// The current state of one unit; an unknown unit is `not-found`.
    public func unitState(_ name: String) async throws -> UnitState {
        try await bus.unitStatus(name).unitState
    }

    /// Every change of `names` as systemd emits it, starting with their current state; connection
    /// loss is handled inside (reconnect with backoff) and only shows as the states after it.
    public func watchUnits(_ names: [String]) -> AsyncThrowingStream<UnitState, any Error> {
        UnitWatch.events(units: names, address: bus.address, callTimeout: bus.callTimeout, backoff: Backoff(), logger: logger) { event in
            if case .state(let status) = event { return status.unitState }
            return nil
        }
    }
}

extension UnitStatus {
    /// The port's view of this status (Core's `UnitState`).
    public var unitState: UnitState {
        UnitState(
            unit: unit, loadState: loadState, activeState: activeState, subState: subState, result: result,
            nRestarts: nRestarts, invocationID: invocationID, changedAt: changedAt)
    }
}
