import FoundationEssentials

/// Remembers when a unit last restarted, from its `NRestarts` and `InvocationID` (pure, no I/O).
public struct UnitFlapTracker: Sendable, Equatable {
    /// The last state seen.
    public private(set) var last: UnitState?
    /// When a restart (NRestarts increase or a new InvocationID) was last seen.
    public private(set) var lastRestartAt: Date?

    /// An empty tracker.
    public init() {}

    /// Records a state seen at `now`; the first one is the baseline and never counts as a restart.
    public mutating func observe(_ state: UnitState, at now: Date) {
        if let last {
            let restarted = state.nRestarts > last.nRestarts
                || (!last.invocationID.isEmpty && !state.invocationID.isEmpty && state.invocationID != last.invocationID)
            if restarted { lastRestartAt = now }
        }
        last = state
    }

    /// True when a restart was seen within `window` before `now`.
    public func isFlapping(at now: Date, window: Duration) -> Bool {
        guard let lastRestartAt else { return false }
        return now.timeIntervalSince(lastRestartAt) < ConfigDuration.seconds(window)
    }
}
