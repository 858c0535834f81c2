/// A check's state over time, after thresholds: what the assessment acts on.
public enum CheckHealth: String, Sendable, Equatable, Codable {
    /// Not enough results yet (or only failures inside the start period): never counts as a pass.
    case unknown
    /// Passed `success_threshold` times in a row.
    case passing
    /// Failed `failure_threshold` times in a row after the start period.
    case failing
}

/// Turns raw results into a check's health with its thresholds and start period (pure, no I/O).
public struct CheckTracker: Sendable, Equatable {
    /// Grace after boot during which failures do not count.
    public let startPeriod: Duration
    /// Consecutive counted failures that make the check failing.
    public let failureThreshold: Int
    /// Consecutive passes that make the check passing.
    public let successThreshold: Int
    /// The current health.
    public private(set) var health = CheckHealth.unknown
    /// Passes in a row so far.
    public private(set) var consecutivePasses = 0
    /// Counted failures in a row so far.
    public private(set) var consecutiveFailures = 0
    /// The latest result recorded.
    public private(set) var last: CheckResult?

    /// A tracker with the thresholds of `spec`.
    public init(spec: CheckSpec) {
        self.init(startPeriod: spec.startPeriod, failureThreshold: spec.failureThreshold, successThreshold: spec.successThreshold)
    }

    /// A tracker with explicit thresholds (each at least 1).
    public init(startPeriod: Duration, failureThreshold: Int, successThreshold: Int) {
        self.startPeriod = startPeriod
        self.failureThreshold = max(1, failureThreshold)
        self.successThreshold = max(1, successThreshold)
    }

    /// Records one result seen `sinceBoot` after boot and returns the new health.
    @discardableResult
    public mutating func record(_ result: CheckResult, sinceBoot: Duration) -> CheckHealth {
        last = result
        switch result.status {
        case .pass:
            consecutiveFailures = 0
            consecutivePasses += 1
            if consecutivePasses >= successThreshold { health = .passing }
        case .unknown:
            // Nothing was learned about the service: no pass stands, and no failure is counted.
            consecutivePasses = 0
            health = .unknown
        case .fail:
            consecutivePasses = 0
            // Inside the start period a failure does not count against the check, but it does end any pass:
            // the deployment is judged only after the start period, never on a pass the failure contradicts.
            guard sinceBoot >= startPeriod else {
                if health == .passing { health = .unknown }
                return health
            }
            consecutiveFailures += 1
            if consecutiveFailures >= failureThreshold { health = .failing }
        }
        return health
    }
}
