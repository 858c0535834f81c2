import FoundationEssentials

/// The state of one systemd unit as Rearguard sees it (systemd's own names for the values).
public struct UnitState: Sendable, Equatable, Codable {
    /// The unit's name, e.g. `dnsmasq.service`.
    public var unit: String
    /// `LoadState`: `loaded`, `not-found`, `masked`, `error`, ...
    public var loadState: String
    /// `ActiveState`: `active`, `inactive`, `failed`, `activating`, ...
    public var activeState: String
    /// `SubState`: `running`, `dead`, `auto-restart`, ...
    public var subState: String
    /// `Service.Result` (`success`, `exit-code`, `signal`, ...); empty for non-service units.
    public var result: String
    /// `Service.NRestarts`: grows on every automatic restart.
    public var nRestarts: UInt32
    /// `Unit.InvocationID` as 32 lowercase hex digits; empty when the unit never ran.
    public var invocationID: String
    /// `StateChangeTimestamp`; nil when systemd reports 0 (never changed).
    public var changedAt: Date?

    /// Creates a unit state from its parts.
    public init(
        unit: String, loadState: String, activeState: String, subState: String, result: String,
        nRestarts: UInt32, invocationID: String, changedAt: Date?
    ) {
        self.unit = unit
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.result = result
        self.nRestarts = nRestarts
        self.invocationID = invocationID
        self.changedAt = changedAt
    }

    // Acronyms spelled "Id" so snake_case encoding and decoding agree (invocation_id <-> invocationId).
    enum CodingKeys: String, CodingKey {
        case unit, loadState, activeState, subState, result, nRestarts, changedAt
        case invocationID = "invocationId"
    }

    /// True when systemd knows no such unit.
    public var isNotFound: Bool { loadState == "not-found" }
}

/// Core's port to the service manager: read unit state and watch it change (implemented over sd-bus).
public protocol UnitInspector: Sendable {
    /// The current state of one unit; a unit systemd does not know is `not-found`, not an error.
    func unitState(_ name: String) async throws -> UnitState
    /// Every change of the named units as systemd emits it, starting with their current state.
    func watchUnits(_ names: [String]) -> AsyncThrowingStream<UnitState, any Error>
}
