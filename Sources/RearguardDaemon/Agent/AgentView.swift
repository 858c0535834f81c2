import FoundationEssentials
import RearguardAPI
import RearguardCore

/// The agent as the API sees it, read at once on the agent's executor: a value, so that documents are made from it
/// off the agent, and one document never mixes two moments.
struct AgentView: Sendable {
    /// The assessment (its state, boot, policy and memory).
    var assessment: Assessment
    /// Why the agent only observes, sorted by source; empty when it may act.
    var doubts: [String]
    /// The deployments as last read.
    var deployments: [DeploymentInfo]
    /// Every check with its latest results.
    var checks: [CheckDocument]
    /// The required checks' combined verdict.
    var verdict: Assessment.Verdict
    /// This boot's id, once read.
    var bootID: String?
    /// When the agent started.
    var startedAt: Date
    /// When this view was read (the agent's clock).
    var now: Date
    /// Why update reboots are inhibited, or nil.
    var inhibited: String?

    /// The status document.
    func status(_ env: Agent.Environment, fleet: FleetCoordinator.Snapshot? = nil) -> StatusDocument {
        let memory = assessment.memory
        let mode = memory.modeOverride ?? env.settings.assessment.mode
        let observeReason = doubts.isEmpty ? nil : doubts.joined(separator: "; ")
        let reason: String? = assessment.boot == nil
            ? (observeReason ?? "starting") : memory.current?.reason
        return StatusDocument(
            state: assessment.state, reason: reason, mode: mode.rawValue, observeOnlyReason: observeReason,
            deployments: deployments, checks: checks, lastDecision: memory.lastDecision,
            badReleases: memory.badReleases, knownGood: memory.knownGood, updatesHeld: memory.updatesHeld,
            rollbacksTotal: memory.rollbacks.count, rebootsTotal: memory.rebootTimes.count, version: env.version,
            startedAt: startedAt, bootId: bootID, configDir: env.configDescription, updatesInhibited: inhibited,
            finalizationFailuresTotal: memory.finalizationFailures,
            fleet: env.fleet.flatMap { coordinator in fleet.map { Self.fleetDocument(coordinator.client, $0) } })
    }

    /// Boots and decisions, newest first.
    var history: HistoryDocument {
        HistoryDocument(boots: assessment.memory.boots.reversed(), decisions: assessment.memory.decisions.reversed())
    }

    /// What the agent would do now, and why.
    func explain(_ env: Agent.Environment) -> ExplainDocument {
        let memory = assessment.memory
        var because: [String] = []
        let mode = memory.modeOverride ?? env.settings.assessment.mode
        because.append("mode is \(mode.rawValue)\(memory.modeOverride != nil ? " (set with rearguard mode)" : " (from the config)")")
        for reason in doubts { because.append("observing only: \(reason)") }
        guard let boot = assessment.boot else {
            return ExplainDocument(state: assessment.state, next: "nothing until the booted deployment is known", because: because)
        }
        because.append("booted \(boot.booted.label) (\(boot.booted.checksum))\(memory.isKnownGood(boot.booted.checksum) ? ", known good" : ", not known good")")
        if let rollback = boot.rollback {
            because.append("rollback deployment \(rollback.label)\(memory.isKnownGood(rollback.checksum) ? " is known good" : " was never known good")")
        } else {
            because.append("there is no rollback deployment")
        }
        if boot.hasStaged { because.append("an update is staged") }
        if memory.rollbacks.contains(where: { $0.from == boot.booted.checksum }) {
            because.append("already rolled back from \(boot.booted.label) once; never again")
        }
        let used = memory.reboots(since: now.addingTimeInterval(-86_400))
        because.append("reboots by rearguard in the last 24 h: \(used) of \(assessment.policy.maxRebootsPerDay)")
        if memory.updatesHeld { because.append("Zincati is held (\(env.hold.path))") }
        if let inhibited { because.append("update reboots are inhibited: \(inhibited)") }
        because.append("required checks: \(Agent.describe(verdict))")
        let next: String
        switch assessment.state {
        case .firstBoot, .probation:
            switch verdict {
            case .passing:
                let since = assessment.passingSince ?? now
                let left = max(0, assessment.policy.soak - now.timeIntervalSince(since))
                next = "mark \(boot.booted.label) known good in \(Int(left.rounded(.up))) s if every required check keeps passing"
            case .unknown:
                next = "wait: no deployment is judged on unknown results"
            case .failing:
                next = assessment.state == .firstBoot
                    ? "report only: there is no known-good baseline on a first boot"
                    : (assessment.policy.isEnforcing ? "roll back to \(boot.rollback?.label ?? "-") if allowed, else quarantine"
                        : "nothing: observe mode")
            }
        case .good:
            next = "nothing: failures on a known-good deployment are reported (and restart_unit restarted), never rolled back"
        case .failing:
            next = assessment.policy.isEnforcing ? "roll back when allowed" : "nothing: observe mode; would roll back to \(boot.rollback?.label ?? "-")"
        case .rollingBack:
            next = "finish the rollback to \(memory.intent?.to.label ?? "-") and reboot"
        case .rolledBack:
            next = "stay on \(boot.booted.label) until another deployment boots or an admin runs rearguard release"
        case .quarantine:
            next = "nothing: quarantine until another deployment boots or an admin runs rearguard release"
        }
        return ExplainDocument(state: assessment.state, next: next, because: because)
    }

    static func fleetDocument(_ client: FleetLockClient, _ snapshot: FleetCoordinator.Snapshot) -> FleetDocument {
        let want: String = switch snapshot.want {
        case .nothing: "nothing"
        case .rebootWhenHeld: "reboot"
        case .keep: "keep"
        case .release: "release"
        }
        return FleetDocument(
            baseUrl: client.baseURL, group: client.group, nodeId: client.id, slotHeld: snapshot.slotHeld, want: want,
            waitingSince: snapshot.waitingSince,
            lastError: snapshot.lastError.map { FleetErrorDocument(kind: $0.kind, value: $0.value, at: snapshot.lastErrorAt ?? Date()) })
    }
}
