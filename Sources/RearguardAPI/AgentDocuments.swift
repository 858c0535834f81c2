import FoundationEssentials
import RearguardCore

/// One check as status shows it: its health after thresholds, its latest result and recent history.
public struct CheckDocument: Codable, Sendable, Equatable {
    /// The check's name from the config.
    public var name: String
    /// `dns`, `ntp`, `dhcp`, `tcp`, `http`, `unit` or `command`.
    public var kind: CheckKind
    /// Whether it decides if a boot is good.
    public var required: Bool
    /// `passing`, `failing` or `unknown` (never a pass).
    public var state: CheckHealth
    /// The latest result, or nil before the first.
    public var last: CheckResult?
    /// Recent results, newest first (bounded).
    public var history: [CheckResult]

    /// Creates a check document.
    public init(name: String, kind: CheckKind, required: Bool, state: CheckHealth, last: CheckResult?, history: [CheckResult]) {
        self.name = name
        self.kind = kind
        self.required = required
        self.state = state
        self.last = last
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, required, state, last, history
    }

    /// Encodes every key, `null` for a missing `last`, so consumers see a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(required, forKey: .required)
        try c.encode(state, forKey: .state)
        try c.encode(last, forKey: .last)
        try c.encode(history, forKey: .history)
    }
}

/// The fleet part of status (`[fleet] strategy = "fleet_lock"`).
public struct FleetDocument: Codable, Sendable, Equatable {
    /// The FleetLock server.
    public var baseUrl: String
    /// The reboot group.
    public var group: String
    /// The node id the server sees (Zincati's).
    public var nodeId: String
    /// Whether this node holds a reboot slot, as the server last said; nil: not asked yet.
    public var slotHeld: Bool?
    /// What the node wants from the server: `nothing`, `reboot` (waiting for a slot to reboot), `keep`, `release`.
    public var want: String
    /// Since when a reboot waits for the slot.
    public var waitingSince: Date?
    /// The last error (the server's `kind` and `value`, or `unreachable`), cleared by the next success.
    public var lastError: FleetErrorDocument?

    public init(baseUrl: String, group: String, nodeId: String, slotHeld: Bool?, want: String, waitingSince: Date?, lastError: FleetErrorDocument?) {
        self.baseUrl = baseUrl
        self.group = group
        self.nodeId = nodeId
        self.slotHeld = slotHeld
        self.want = want
        self.waitingSince = waitingSince
        self.lastError = lastError
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(baseUrl, forKey: .baseUrl)
        try c.encode(group, forKey: .group)
        try c.encode(nodeId, forKey: .nodeId)
        try c.encode(slotHeld, forKey: .slotHeld)
        try c.encode(want, forKey: .want)
        try c.encode(waitingSince, forKey: .waitingSince)
        try c.encode(lastError, forKey: .lastError)
    }
}

/// A FleetLock failure as status shows it.
public struct FleetErrorDocument: Codable, Sendable, Equatable {
    public var kind: String
    public var value: String
    public var at: Date

    public init(kind: String, value: String, at: Date) {
        self.kind = kind
        self.value = value
        self.at = at
    }
}

/// `GET /v1/status` and `rearguard status --json`.
public struct StatusDocument: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// Exactly one of the assessment states.
    public var state: Assessment.State
    /// Why the node is in that state, when there is a reason (failing checks, refused rollback).
    public var reason: String?
    /// `enforce` or `observe` as in force now (config, overridden by `rearguard mode`).
    public var mode: String
    /// Why the agent only observes although the mode says enforce (untrustworthy state file, ...), or nil.
    public var observeOnlyReason: String?
    /// The deployments in boot order with their roles.
    public var deployments: [DeploymentInfo]
    /// Every configured check.
    public var checks: [CheckDocument]
    /// The latest decision, or nil.
    public var lastDecision: Assessment.Decision?
    /// Releases rolled back from or quarantined, with why.
    public var badReleases: [BadRelease]
    /// Deployments that passed their soak.
    public var knownGood: [KnownGood]
    /// Whether Zincati is held by Rearguard.
    public var updatesHeld: Bool
    /// Automatic rollbacks ever done on this node (from the state file).
    public var rollbacksTotal: Int
    /// Reboots ever asked for by Rearguard on this node (from the state file).
    public var rebootsTotal: Int
    /// Rearguard's version.
    public var version: String
    /// When this agent process started.
    public var startedAt: Date
    /// The kernel boot id of the running boot.
    public var bootId: String?
    /// The config directory the agent runs with (it is per deployment: FIELD-NOTES "/etc is per deployment").
    public var configDir: String
    /// Why update reboots are inhibited now (Rearguard's logind `block` inhibitor), or nil when they are not.
    public var updatesInhibited: String?
    /// Boots in which a staged update was not finalized (the old deployment booted again), ever on this node.
    public var finalizationFailuresTotal: Int
    /// FleetLock, when the node uses it; nil otherwise.
    public var fleet: FleetDocument?

    /// Creates a status document.
    public init(
        state: Assessment.State, reason: String?, mode: String, observeOnlyReason: String?, deployments: [DeploymentInfo],
        checks: [CheckDocument], lastDecision: Assessment.Decision?, badReleases: [BadRelease], knownGood: [KnownGood],
        updatesHeld: Bool, rollbacksTotal: Int, rebootsTotal: Int, version: String, startedAt: Date, bootId: String?, configDir: String,
        updatesInhibited: String? = nil, finalizationFailuresTotal: Int = 0, fleet: FleetDocument? = nil
    ) {
        schemaVersion = RearguardJSON.schemaVersion
        self.state = state
        self.reason = reason
        self.mode = mode
        self.observeOnlyReason = observeOnlyReason
        self.deployments = deployments
        self.checks = checks
        self.lastDecision = lastDecision
        self.badReleases = badReleases
        self.knownGood = knownGood
        self.updatesHeld = updatesHeld
        self.rollbacksTotal = rollbacksTotal
        self.rebootsTotal = rebootsTotal
        self.version = version
        self.startedAt = startedAt
        self.bootId = bootId
        self.configDir = configDir
        self.updatesInhibited = updatesInhibited
        self.finalizationFailuresTotal = finalizationFailuresTotal
        self.fleet = fleet
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion, state, reason, mode, observeOnlyReason, deployments, checks, lastDecision, badReleases
        case knownGood, updatesHeld, rollbacksTotal, rebootsTotal, version, startedAt, bootId, configDir
        case updatesInhibited, finalizationFailuresTotal, fleet
    }

    /// Decodes a document; the keys added after schema 1 was published may be missing (an older agent).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        state = try c.decode(Assessment.State.self, forKey: .state)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        mode = try c.decode(String.self, forKey: .mode)
        observeOnlyReason = try c.decodeIfPresent(String.self, forKey: .observeOnlyReason)
        deployments = try c.decode([DeploymentInfo].self, forKey: .deployments)
        checks = try c.decode([CheckDocument].self, forKey: .checks)
        lastDecision = try c.decodeIfPresent(Assessment.Decision.self, forKey: .lastDecision)
        badReleases = try c.decode([BadRelease].self, forKey: .badReleases)
        knownGood = try c.decode([KnownGood].self, forKey: .knownGood)
        updatesHeld = try c.decode(Bool.self, forKey: .updatesHeld)
        rollbacksTotal = try c.decode(Int.self, forKey: .rollbacksTotal)
        rebootsTotal = try c.decode(Int.self, forKey: .rebootsTotal)
        version = try c.decode(String.self, forKey: .version)
        startedAt = try c.decode(Date.self, forKey: .startedAt)
        bootId = try c.decodeIfPresent(String.self, forKey: .bootId)
        configDir = try c.decode(String.self, forKey: .configDir)
        updatesInhibited = try c.decodeIfPresent(String.self, forKey: .updatesInhibited)
        finalizationFailuresTotal = try c.decodeIfPresent(Int.self, forKey: .finalizationFailuresTotal) ?? 0
        fleet = try c.decodeIfPresent(FleetDocument.self, forKey: .fleet)
    }

    /// Encodes every key, `null` for missing values (`"last_decision": null`), so consumers see a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(mode, forKey: .mode)
        try c.encode(observeOnlyReason, forKey: .observeOnlyReason)
        try c.encode(deployments, forKey: .deployments)
        try c.encode(checks, forKey: .checks)
        try c.encode(lastDecision, forKey: .lastDecision)
        try c.encode(badReleases, forKey: .badReleases)
        try c.encode(knownGood, forKey: .knownGood)
        try c.encode(updatesHeld, forKey: .updatesHeld)
        try c.encode(rollbacksTotal, forKey: .rollbacksTotal)
        try c.encode(rebootsTotal, forKey: .rebootsTotal)
        try c.encode(version, forKey: .version)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(bootId, forKey: .bootId)
        try c.encode(configDir, forKey: .configDir)
        try c.encode(updatesInhibited, forKey: .updatesInhibited)
        try c.encode(finalizationFailuresTotal, forKey: .finalizationFailuresTotal)
        try c.encode(fleet, forKey: .fleet)
    }
}

/// `GET /v1/checks` and `POST /v1/checks/run`.
public struct ChecksDocument: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// Every configured check.
    public var checks: [CheckDocument]

    /// Wraps the checks.
    public init(checks: [CheckDocument]) {
        schemaVersion = RearguardJSON.schemaVersion
        self.checks = checks
    }
}

/// `GET /v1/history`: boots and decisions, newest first.
public struct HistoryDocument: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// Assessed boots, newest first.
    public var boots: [BootRecord]
    /// Decisions, newest first.
    public var decisions: [Assessment.Decision]

    /// Wraps the history.
    public init(boots: [BootRecord], decisions: [Assessment.Decision]) {
        schemaVersion = RearguardJSON.schemaVersion
        self.boots = boots
        self.decisions = decisions
    }
}

/// `GET /v1/explain`: what the agent would do now, and why.
public struct ExplainDocument: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// The current state.
    public var state: Assessment.State
    /// What it would do next, in one lowercase phrase (`"mark good in 4m 10s if checks keep passing"`).
    public var next: String
    /// The facts behind it, one sentence each.
    public var because: [String]

    /// Creates an explanation.
    public init(state: Assessment.State, next: String, because: [String]) {
        schemaVersion = RearguardJSON.schemaVersion
        self.state = state
        self.next = next
        self.because = because
    }
}

/// The body of every API error: `{"schema_version": 1, "error": {"code": ..., "message": ...}}`.
public struct ErrorDocument: Codable, Sendable, Equatable {
    /// The error codes.
    public enum Code: String, Codable, Sendable, CaseIterable {
        case badRequest = "bad_request"
        case forbidden
        case notFound = "not_found"
        case conflict
        case unavailable
        case `internal`

        /// The HTTP status that carries this code.
        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .unavailable: 503
            case .internal: 500
            }
        }
    }

    /// The error itself.
    public struct Body: Codable, Sendable, Equatable {
        public var code: Code
        public var message: String
    }

    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// The error.
    public var error: Body

    /// Creates an error document.
    public init(_ code: Code, _ message: String) {
        schemaVersion = RearguardJSON.schemaVersion
        error = Body(code: code, message: message)
    }
}

/// An agent request that could not be done; the API answers it as an `ErrorDocument`.
public struct AgentRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The API error code.
    public var code: ErrorDocument.Code
    /// A sentence for the admin.
    public var message: String

    /// Creates an error.
    public init(_ code: ErrorDocument.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// What the API server asks of the running agent (implemented by the daemon's `Agent` actor).
public protocol AgentEndpoint: Sendable {
    /// The status document.
    func status() async -> StatusDocument
    /// The checks.
    func checks() async -> ChecksDocument
    /// Boots and decisions, newest first.
    func history() async -> HistoryDocument
    /// The deployments, read again now.
    func deployments() async throws(AgentRequestError) -> DeploymentsDocument
    /// What the agent would do now, and why.
    func explain() async -> ExplainDocument
    /// Runs every check now and returns their documents once the round is in.
    func runChecks() async throws(AgentRequestError) -> ChecksDocument
    /// Holds Zincati (persisted, asserted every boot).
    func hold() async throws(AgentRequestError) -> StatusDocument
    /// Lifts the hold and ends a quarantine or rolled-back state.
    func release() async throws(AgentRequestError) -> StatusDocument
    /// Switches between enforce and observe (persisted in the state).
    func setMode(_ mode: AssessmentMode) async throws(AgentRequestError) -> StatusDocument
}
