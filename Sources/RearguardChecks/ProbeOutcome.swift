import RearguardCore

/// What one probe saw: pass or fail and a short lowercase phrase.
public struct ProbeOutcome: Sendable, Equatable {
    /// Pass or fail.
    public var status: CheckStatus
    /// What was seen.
    public var message: String

    /// A passing outcome.
    public static func pass(_ message: String) -> ProbeOutcome { ProbeOutcome(status: .pass, message: message) }
    /// A failing outcome.
    public static func fail(_ message: String) -> ProbeOutcome { ProbeOutcome(status: .fail, message: message) }
    /// The probe could not tell (no bus, cancelled): the check stays undecided.
    public static func unknown(_ message: String) -> ProbeOutcome { ProbeOutcome(status: .unknown, message: message) }
}

/// One kind of probe: runs once against its target and never throws or outlives `deadline` by much.
public protocol HealthCheck: Sendable {
    /// Probes the target once; must return by `deadline` (the engine enforces it too).
    func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome
    /// What the engine reports when the probe overruns its deadline.
    var overrun: ProbeOutcome { get }
}

extension HealthCheck {
    /// A service that does not answer in time fails.
    public var overrun: ProbeOutcome { .fail("timeout") }
}
