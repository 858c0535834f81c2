import Foundation

/// What the assessment remembers across restarts and reboots (kept under /var, which survives a rollback).
public struct AssessmentMemory: Sendable, Equatable, Codable {
    /// Deployments that passed their soak.
    public var knownGood: [KnownGood] = []
    /// Releases Rearguard rolled back from or quarantined, with why.
    public var badReleases: [BadRelease] = []
    /// Every automatic rollback: at most one per `from` checksum, ever.
    public var rollbacks: [RollbackRecord] = []
    /// When Rearguard asked for reboots (the daily budget counts these).
    public var rebootTimes: [Date] = []
    /// A rollback decided and not yet seen through; written before any action.
    public var intent: RollbackIntent?
    /// Zincati is held (asserted as a runtime drop-in every boot).
    public var updatesHeld = false
    /// Checksums released from quarantine by an admin: observed only, never acted on.
    public var observeOnly: Set<String> = []
    /// The state of the latest assessed boot.
    public var current: CurrentBoot?
    /// The latest decision, for status.
    public var lastDecision: Assessment.Decision?

    /// An empty memory: a node's first run.
    public init() {}

    /// Whether a checksum ever passed its soak.
    public func isKnownGood(_ checksum: String) -> Bool { knownGood.contains { $0.checksum == checksum } }

    /// Reboots asked for since `date`.
    public func reboots(since date: Date) -> Int { rebootTimes.filter { $0 >= date }.count }

    /// Records a known-good deployment once.
    mutating func markGood(_ release: Assessment.Release, at date: Date) {
        guard !isKnownGood(release.checksum) else { return }
        knownGood.append(KnownGood(checksum: release.checksum, version: release.version, at: date))
    }

    /// Records a bad release once (the first reason stays).
    mutating func recordBad(_ release: Assessment.Release, reason: String, at date: Date) {
        guard !badReleases.contains(where: { $0.checksum == release.checksum }) else { return }
        badReleases.append(BadRelease(checksum: release.checksum, version: release.version, origin: release.origin, reason: reason, at: date))
    }
}

/// A deployment that passed its soak.
public struct KnownGood: Sendable, Equatable, Codable {
    public var checksum: String
    public var version: String?
    public var at: Date
}

/// A release that failed its post-update checks.
public struct BadRelease: Sendable, Equatable, Codable {
    public var checksum: String
    public var version: String?
    public var origin: String?
    public var reason: String
    public var at: Date
}

/// One automatic rollback.
public struct RollbackRecord: Sendable, Equatable, Codable {
    public var from: String
    public var to: String
    public var at: Date
}

/// A rollback decided in a boot, persisted before anything is done about it.
public struct RollbackIntent: Sendable, Equatable, Codable {
    /// How far it got.
    public enum Phase: String, Sendable, Codable {
        /// Decided; the transaction may or may not have run.
        case requested
        /// The sysroot boots the target first; a reboot was asked for.
        case rebootRequested = "reboot-requested"
    }
    public var from: Assessment.Release
    public var to: Assessment.Release
    public var bootID: String
    public var reason: String
    public var at: Date
    public var phase: Phase = .requested
    public var rebootAttempts = 0

    // Acronyms spelled "Id" so snake_case encoding and decoding agree (boot_id <-> bootId).
    enum CodingKeys: String, CodingKey {
        case from, to, reason, at, phase, rebootAttempts
        case bootID = "bootId"
    }
}

/// The assessed state of one boot.
public struct CurrentBoot: Sendable, Equatable, Codable {
    public var bootID: String
    public var checksum: String
    public var state: Assessment.State
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case checksum, state, reason
        case bootID = "bootId"
    }
}
