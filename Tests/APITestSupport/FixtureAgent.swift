import Foundation
import RearguardAPI
import RearguardCore

/// An `AgentEndpoint` holding real documents, for the HTTP layer's tests and benchmark until the daemon's `Agent`
/// is wired in. It is a fixture for the API server, not a mock of a system component: hold, release, mode and
/// runChecks change its documents the way the agent's answers change, so the CLI and curl see the effect.
public actor FixtureAgent: AgentEndpoint {
    private var document: StatusDocument
    private var decisions: [Assessment.Decision]
    private var boots: [BootRecord]
    private var deploymentsError: AgentRequestError?
    /// How many times `runChecks` ran.
    public private(set) var checkRounds = 0

    /// A node with `checks` configured checks (each with `historyLength` results), two deployments and, when
    /// `decided`, a decision.
    public init(
        state: Assessment.State = .good, checks: Int = 3, historyLength: Int = 10, decided: Bool = true, now: Date = Date()
    ) {
        let deployments = Self.deployments(now: now)
        let checkDocuments = (0..<checks).map { Self.check(index: $0, historyLength: historyLength, now: now) }
        let decision = Self.decision(.bootMarkedGood, "every required check passed for 10m", deployments[0].checksum, now)
        decisions = decided ? [decision] : []
        boots = [
            Self.decode(BootRecord.self, [
                "boot_id": "0f3c2a8e-9b1d-4c55-8f7e-2a1b3c4d5e6f", "checksum": deployments[0].checksum,
                "version": deployments[0].version ?? "", "state": "good", "reasons": [String](),
                "started_at": Self.iso(now.addingTimeInterval(-900)), "updated_at": Self.iso(now.addingTimeInterval(-300)),
            ])
        ]
        document = StatusDocument(
            state: state, reason: nil, mode: AssessmentMode.enforce.rawValue, observeOnlyReason: nil,
            deployments: deployments, checks: checkDocuments, lastDecision: decided ? decision : nil, badReleases: [],
            knownGood: [Self.decode(KnownGood.self, [
                "checksum": deployments[0].checksum, "version": deployments[0].version ?? "",
                "at": Self.iso(now.addingTimeInterval(-300)),
            ])],
            updatesHeld: false, rollbacksTotal: 0, rebootsTotal: 0, version: "0.1.0-fixture", startedAt: now.addingTimeInterval(-900),
            bootId: "0f3c2a8e-9b1d-4c55-8f7e-2a1b3c4d5e6f", configDir: "/etc/rearguard/config.d")
    }

    // MARK: AgentEndpoint

    public func status() -> StatusDocument { document }
    public func checks() -> ChecksDocument { ChecksDocument(checks: document.checks) }
    public func history() -> HistoryDocument { HistoryDocument(boots: boots.reversed(), decisions: decisions.reversed()) }

    public func deployments() throws(AgentRequestError) -> DeploymentsDocument {
        if let deploymentsError { throw deploymentsError }
        return DeploymentsDocument(DeploymentSnapshot(deployments: document.deployments, bootedSource: .libostree))
    }

    public func explain() -> ExplainDocument {
        switch document.state {
        case .good:
            ExplainDocument(state: .good, next: "nothing: the booted deployment is known good",
                            because: ["every required check passed through the soak."])
        case .firstBoot, .probation:
            ExplainDocument(state: document.state, next: "mark good in 9m 50s if checks keep passing",
                            because: ["the booted deployment is new and has not passed its soak."])
        default:
            ExplainDocument(state: document.state, next: "nothing until an admin runs rearguard release",
                            because: [document.reason ?? "the deployment failed its checks."])
        }
    }

    public func runChecks() -> ChecksDocument {
        checkRounds += 1
        let now = Date()
        for i in document.checks.indices {
            var result = document.checks[i].last ?? Self.result(name: document.checks[i].name, index: i, at: now)
            result.observedAt = now
            document.checks[i].last = result
            document.checks[i].history.insert(result, at: 0)
            if document.checks[i].history.count > 10 { document.checks[i].history.removeLast() }
        }
        return ChecksDocument(checks: document.checks)
    }

    public func hold() -> StatusDocument {
        document.updatesHeld = true
        record(.updatesHeld, "held by an admin")
        return document
    }

    public func release() -> StatusDocument {
        document.updatesHeld = false
        if [.quarantine, .rolledBack].contains(document.state) {
            document.state = .good
            document.reason = nil
        }
        record(.updatesReleased, "released by an admin")
        return document
    }

    public func setMode(_ mode: AssessmentMode) -> StatusDocument {
        document.mode = mode.rawValue
        return document
    }

    // MARK: Test controls

    /// Puts the node in `state` with `reason` (and a bad release when it rolled back or is quarantined).
    public func set(state: Assessment.State, reason: String? = nil) {
        document.state = state
        document.reason = reason
        if [.rolledBack, .quarantine].contains(state), let booted = document.deployments.first {
            document.badReleases = [Self.decode(BadRelease.self, [
                "checksum": String(repeating: "b", count: 64), "version": "42.20251124.3.0", "origin": booted.origin ?? "",
                "reason": reason ?? "dns-local failed 3/3 during probation", "at": Self.iso(Date()),
            ])]
            document.rollbacksTotal = 1
            document.rebootsTotal = 1
            record(.rollbackDone, reason ?? "dns-local failed 3/3 during probation")
        }
    }

    /// Makes `deployments()` fail with `error` (nil: succeed again).
    public func failDeployments(with error: AgentRequestError?) { deploymentsError = error }

    private func record(_ kind: Assessment.Decision.Kind, _ reason: String) {
        let decision = Self.decision(kind, reason, document.deployments.first?.checksum ?? "", Date())
        decisions.append(decision)
        document.lastDecision = decision
    }

    // MARK: Documents

    static func deployments(now: Date) -> [DeploymentInfo] {
        let origin = "ostree-remote-image:fedora:docker://quay.io/fedora/fedora-coreos:stable"
        let snapshot = DeploymentSnapshot(deployments: [
            DeploymentInfo(index: 0, osname: "fedora-coreos", checksum: String(repeating: "a", count: 64), serial: 0,
                           version: "42.20251110.3.0", timestamp: now.addingTimeInterval(-86_400 * 3), origin: origin,
                           isPinned: false, isStaged: false, isBooted: true),
            DeploymentInfo(index: 1, osname: "fedora-coreos", checksum: String(repeating: "c", count: 64), serial: 0,
                           version: "42.20251027.3.0", timestamp: now.addingTimeInterval(-86_400 * 17), origin: origin,
                           isPinned: false, isStaged: false, isBooted: false),
        ], bootedSource: .libostree)
        return snapshot.deployments
    }

    static func check(index: Int, historyLength: Int, now: Date) -> CheckDocument {
        let names = ["dns-local", "ntp", "dhcp-lan", "unbound-unit", "http-grafana"]
        let name = index < names.count ? names[index] : "check-\(index)"
        let history = (0..<historyLength).map { result(name: name, index: index, at: now.addingTimeInterval(Double(-30 * $0))) }
        let kinds: [CheckKind] = [.dns, .ntp, .dhcp, .unit, .http]
        return CheckDocument(
            name: name, kind: kinds[index % kinds.count], required: index % 4 != 3, state: history.isEmpty ? .unknown : .passing,
            last: history.first,
            history: history)
    }

    static func result(name: String, index: Int, at date: Date) -> CheckResult {
        let kinds: [CheckKind] = [.dns, .ntp, .dhcp, .unit, .http]
        return CheckResult(
            name: name, kind: kinds[index % kinds.count], required: index % 4 != 3, status: .pass,
            latencyMs: 1.25 + Double(index), message: "answer 10.0.0.1", observedAt: date)
    }

    static func decision(_ kind: Assessment.Decision.Kind, _ reason: String, _ deployment: String, _ at: Date) -> Assessment.Decision {
        decode(Assessment.Decision.self, ["action": kind.rawValue, "reason": reason, "deployment": deployment, "at": iso(at)])
    }

    /// Core's record types have no public memberwise initializers; they are built the way the agent's state file
    /// builds them, from JSON.
    static func decode<T: Decodable>(_ type: T.Type, _ object: [String: Any]) -> T {
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            return try RearguardJSON.decoder().decode(T.self, from: data)
        } catch {
            fatalError("fixture \(T.self) does not decode: \(error)")
        }
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
