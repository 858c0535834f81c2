import FoundationEssentials

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
    /// Decisions, oldest first (bounded to `historyLimit`).
    public var decisions: [Assessment.Decision] = []
    /// Assessed boots, oldest first (bounded to `historyLimit`).
    public var boots: [BootRecord] = []
    /// The mode an admin chose with `rearguard mode`; overrides the config's until changed again.
    public var modeOverride: AssessmentMode?
    /// The deployment resolved from the kernel command line at the start of the boot it names. After a
    /// boot-order rewrite the cmdline's `ostree=` link no longer resolves, so later reads in the same boot use this.
    public var bootedIdentity: BootedIdentityRecord?
    /// The deployment staged in the boot that last read one (Zincati's next update), to tell at the next boot whether
    /// its finalization at shutdown worked.
    public var stagedUpdate: StagedUpdate?
    /// Boots in which a staged update was not finalized.
    public var finalizationFailures = 0
    /// An admin released a node that was not good yet: its fleet reboot slot goes back once it is.
    public var releaseSlotWhenGood = false

    /// How many boots and decisions are kept.
    public static let historyLimit = 200

    /// An empty memory: a node's first run.
    public init() {}

    /// Reads memory written by this or an earlier agent of the same schema: keys added later default to empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        knownGood = try c.decodeIfPresent([KnownGood].self, forKey: .knownGood) ?? []
        badReleases = try c.decodeIfPresent([BadRelease].self, forKey: .badReleases) ?? []
        rollbacks = try c.decodeIfPresent([RollbackRecord].self, forKey: .rollbacks) ?? []
        rebootTimes = try c.decodeIfPresent([Date].self, forKey: .rebootTimes) ?? []
        intent = try c.decodeIfPresent(RollbackIntent.self, forKey: .intent)
        updatesHeld = try c.decodeIfPresent(Bool.self, forKey: .updatesHeld) ?? false
        observeOnly = try c.decodeIfPresent(Set<String>.self, forKey: .observeOnly) ?? []
        current = try c.decodeIfPresent(CurrentBoot.self, forKey: .current)
        lastDecision = try c.decodeIfPresent(Assessment.Decision.self, forKey: .lastDecision)
        decisions = try c.decodeIfPresent([Assessment.Decision].self, forKey: .decisions) ?? []
        boots = try c.decodeIfPresent([BootRecord].self, forKey: .boots) ?? []
        modeOverride = try c.decodeIfPresent(AssessmentMode.self, forKey: .modeOverride)
        bootedIdentity = try c.decodeIfPresent(BootedIdentityRecord.self, forKey: .bootedIdentity)
        stagedUpdate = try c.decodeIfPresent(StagedUpdate.self, forKey: .stagedUpdate)
        finalizationFailures = try c.decodeIfPresent(Int.self, forKey: .finalizationFailures) ?? 0
        releaseSlotWhenGood = try c.decodeIfPresent(Bool.self, forKey: .releaseSlotWhenGood) ?? false
    }

    /// Whether a checksum ever passed its soak.
    public func isKnownGood(_ checksum: String) -> Bool { knownGood.contains { $0.checksum == checksum } }

    /// Reboots asked for since `date`.
    public func reboots(since date: Date) -> Int { rebootTimes.filter { $0 >= date }.count }

    /// Records a known-good deployment once.
    mutating func markGood(_ release: Assessment.Release, at date: Date) {
        guard !isKnownGood(release.checksum) else { return }
        knownGood.append(KnownGood(checksum: release.checksum, version: release.version, at: date))
    }

    /// Records a rollback attempt once per `from` checksum.
    mutating func recordRollback(_ intent: RollbackIntent, at date: Date) {
        guard !rollbacks.contains(where: { $0.from == intent.from.checksum }) else { return }
        rollbacks.append(RollbackRecord(from: intent.from.checksum, to: intent.to.checksum, at: date))
    }

    /// Appends a decision to the bounded history.
    mutating func recordDecision(_ decision: Assessment.Decision) {
        lastDecision = decision
        decisions.append(decision)
        if decisions.count > Self.historyLimit { decisions.removeFirst(decisions.count - Self.historyLimit) }
    }

    /// Creates or updates the record of the boot `current` describes.
    mutating func recordBoot(_ boot: Assessment.Boot, state: Assessment.State, reason: String?, at date: Date) {
        if let i = boots.lastIndex(where: { $0.bootID == boot.bootID && $0.checksum == boot.booted.checksum }) {
            boots[i].state = state
            if let reason, !boots[i].reasons.contains(reason) { boots[i].reasons.append(reason) }
            boots[i].updatedAt = date
            return
        }
        boots.append(BootRecord(
            bootID: boot.bootID, checksum: boot.booted.checksum, version: boot.booted.version, state: state,
            reasons: reason.map { [$0] } ?? [], startedAt: date, updatedAt: date))
        if boots.count > Self.historyLimit { boots.removeFirst(boots.count - Self.historyLimit) }
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

/// One assessed boot: which deployment, the verdict it reached and why.
public struct BootRecord: Sendable, Equatable, Codable {
    public var bootID: String
    public var checksum: String
    public var version: String?
    /// The latest assessment state of that boot.
    public var state: Assessment.State
    /// The reasons given along the way (failing checks, refusals), oldest first.
    public var reasons: [String]
    public var startedAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case checksum, version, state, reasons, startedAt, updatedAt
        case bootID = "bootId"
    }
}

/// The booted deployment of one boot, as resolved from the cmdline at its start (osname, checksum, serial).
public struct BootedIdentityRecord: Sendable, Equatable, Codable {
    public var bootID: String
    public var osname: String
    public var checksum: String
    public var serial: Int

    /// Creates a record.
    public init(bootID: String, osname: String, checksum: String, serial: Int) {
        self.bootID = bootID
        self.osname = osname
        self.checksum = checksum
        self.serial = serial
    }

    enum CodingKeys: String, CodingKey {
        case osname, checksum, serial
        case bootID = "bootId"
    }
}

/// A staged deployment seen in a boot.
public struct StagedUpdate: Sendable, Equatable, Codable {
    /// The staged deployment.
    public var release: Assessment.Release
    /// The boot in which it was staged.
    public var bootID: String

    /// Creates a record.
    public init(release: Assessment.Release, bootID: String) {
        self.release = release
        self.bootID = bootID
    }

    enum CodingKeys: String, CodingKey {
        case release
        case bootID = "bootId"
    }
}
