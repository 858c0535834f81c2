import FoundationEssentials

/// The outcome of one run of one check.
public enum CheckStatus: String, Sendable, Codable, Equatable {
    /// The service answered as expected.
    case pass
    /// The service did not answer, or answered wrongly.
    case fail
    /// The probe could not tell (the bus to systemd is down, the probe was cancelled): never a pass, never a failure.
    case unknown
}

/// One observation of one check: what the engine returns instead of throwing (STYLE K4).
public struct CheckResult: Sendable, Equatable, Codable {
    /// The check's unique name from the config.
    public var name: String
    /// The check's kind (`dns`, `ntp`, ...).
    public var kind: CheckKind
    /// Whether the check decides if a boot is good.
    public var required: Bool
    /// Pass or fail.
    public var status: CheckStatus
    /// Wall time from the start of the probe to its outcome, in milliseconds.
    public var latencyMs: Double
    /// A short lowercase phrase saying what was seen (`"answer 10.0.0.1"`, `"timeout"`).
    public var message: String
    /// When the outcome was seen.
    public var observedAt: Date

    /// Creates a result from its parts.
    public init(
        name: String, kind: CheckKind, required: Bool, status: CheckStatus, latencyMs: Double,
        message: String, observedAt: Date
    ) {
        self.name = name
        self.kind = kind
        self.required = required
        self.status = status
        self.latencyMs = latencyMs
        self.message = message
        self.observedAt = observedAt
    }

    /// True when the check passed.
    public var isPassing: Bool { status == .pass }
}
