import FoundationEssentials
import RearguardCore

/// Remembers restarts of watched units so a unit check can tell "active" from "active but flapping".
public actor UnitFlapMonitor {
    private var trackers: [String: UnitFlapTracker] = [:]

    /// An empty monitor.
    public init() {}

    /// Records one state as seen now.
    public func observe(_ state: UnitState, at now: Date = Date()) {
        trackers[state.unit, default: UnitFlapTracker()].observe(state, at: now)
    }

    /// True when the unit restarted within `window` before `now`.
    public func isFlapping(_ unit: String, window: Duration, at now: Date = Date()) -> Bool {
        trackers[unit]?.isFlapping(at: now, window: window) ?? false
    }

    /// Feeds every change from the inspector's watch into the monitor until the stream ends
    /// (the daemon runs this for the units its checks name).
    public func follow(_ inspector: any UnitInspector, units: [String]) async throws {
        for try await state in inspector.watchUnits(units) {
            observe(state)
        }
    }
}

/// Passes when the unit is loaded, active and did not restart (NRestarts or InvocationID) within `interval`.
public struct UnitCheck: HealthCheck {
    /// The unit's name.
    public let unit: String
    /// The flap window (the check's `interval`).
    public let interval: Duration
    /// The port to systemd; nil: the check fails with "no unit inspector".
    public let inspector: (any UnitInspector)?
    /// Where restarts are remembered between runs.
    public let monitor: UnitFlapMonitor

    /// A check of `unit` through `inspector`.
    public init(unit: String, interval: Duration, inspector: (any UnitInspector)?, monitor: UnitFlapMonitor) {
        self.unit = unit
        self.interval = interval
        self.inspector = inspector
        self.monitor = monitor
    }

    /// Reads the unit's state once; a bus that never answers is cut off at the deadline.
    /// systemd not answering about a unit in time says nothing of the unit: unknown, never a failure.
    public var overrun: ProbeOutcome { .unknown("unit state unknown: systemd did not answer in time") }

    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        guard let inspector else { return .unknown("no unit inspector: unit state unknown") }
        let unit = self.unit
        let once = ResumeOnce<Result<UnitState, any Error>?>()
        // The inspector is someone else's adapter and may ignore cancellation: its call runs in a
        // task of its own that we cancel, and we stop waiting for it at cancellation.
        let call = Task {
            do { once.resume(.success(try await inspector.unitState(unit))) } catch { once.resume(.failure(error)) }
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { once.attach($0) }
        } onCancel: {
            call.cancel()
            once.resume(nil)
        }
        // systemd not answering in time, or not reachable, says nothing about the unit: unknown, never a failure.
        guard let result else { return overrun }
        switch result {
        case .failure(let error):
            return .unknown("unit state unknown: \(error)".lowercased())
        case .success(let state):
            await monitor.observe(state)
            if state.isNotFound { return .fail("\(unit) not found") }
            let summary = "\(state.activeState)/\(state.subState)"
            guard state.activeState == "active" else {
                return .fail(state.result.isEmpty || state.result == "success" ? summary : "\(summary) (\(state.result))")
            }
            if await monitor.isFlapping(unit, window: interval) {
                return .fail("\(summary) but restarted within \(ConfigDuration.render(interval)) (nrestarts \(state.nRestarts))")
            }
            return .pass(summary)
        }
    }
}
