import FoundationEssentials
import RearguardAPI
import RearguardCore

/// Renders the agent's documents for people: verdict first, then the facts (STYLE U2: `--json` prints the documents).
enum AgentRenderer {
    /// One line an admin reads first, e.g. `GOOD: 42.20251110.3.0 known good since 2025-11-10 14:02 UTC` or
    /// `ROLLED BACK from 42.20251124.3.0: dns-local failed 3/3 during probation`.
    static func verdict(_ status: StatusDocument) -> String {
        let booted = status.deployments.first { $0.isBooted }
        let label = booted.map { $0.version ?? String($0.checksum.prefix(12)) } ?? "unknown deployment"
        let bad = status.badReleases.max { $0.at < $1.at }
        let badLabel = bad.map { $0.version ?? String($0.checksum.prefix(12)) } ?? "an unknown release"
        let reason = status.reason ?? bad?.reason
        var line: String
        switch status.state {
        case .good:
            if let booted, let good = status.knownGood.first(where: { $0.checksum == booted.checksum }) {
                line = "GOOD: \(label) known good since \(TableDate.string(good.at))"
            } else {
                line = "GOOD: \(label)"
            }
        case .firstBoot:
            line = "FIRST BOOT: \(label) not assessed yet"
        case .probation:
            line = "PROBATION: \(label) is on trial until its checks pass through the soak"
        case .failing:
            line = "FAILING: \(label)" + (reason.map { ": \($0)" } ?? "")
        case .rollingBack:
            line = "ROLLING BACK from \(label)" + (reason.map { ": \($0)" } ?? "")
        case .rolledBack:
            line = "ROLLED BACK from \(badLabel)" + (reason.map { ": \($0)" } ?? "")
        case .quarantine:
            line = "QUARANTINE: \(badLabel)" + (reason.map { ": \($0)" } ?? "") + " (rearguard release ends it)"
        }
        if status.mode == AssessmentMode.observe.rawValue {
            line += " [observe mode: nothing is acted on]"
        } else if let why = status.observeOnlyReason {
            line += " [observing only: \(why)]"
        }
        return line
    }

    /// `rearguard status`: the verdict, the deployments, the checks and the last decision.
    static func status(_ status: StatusDocument) -> String {
        var out = verdict(status) + "\n\n"
        out += "mode \(status.mode), updates \(status.updatesHeld ? "held" : "not held"), "
            + "\(status.rollbacksTotal) rollbacks, agent \(status.version) up since \(TableDate.string(status.startedAt))\n"
        if let why = status.updatesInhibited { out += "update reboots inhibited: \(why)\n" }
        if let fleet = status.fleet {
            let held = fleet.slotHeld.map { $0 ? "held" : "not held" } ?? "not asked yet"
            out += "fleet lock: group \(fleet.group) at \(fleet.baseUrl), reboot slot \(held)"
            if fleet.want == "reboot" { out += ", a reboot waits for it since \(TableDate.string(fleet.waitingSince))" }
            if fleet.want == "keep" { out += ", kept after the rollback until rearguard release" }
            out += "\n"
            if let error = fleet.lastError { out += "fleet lock error: \(error.kind): \(error.value) (\(TableDate.string(error.at)))\n" }
        }
        if status.finalizationFailuresTotal > 0 {
            out += "staged updates not finalized at shutdown: \(status.finalizationFailuresTotal)\n"
        }
        out += "\n"
        out += "DEPLOYMENTS\n"
        if status.deployments.isEmpty {
            out += "none\n"
        } else {
            out += DeploymentsRenderer.table(DeploymentSnapshot(deployments: status.deployments, bootedSource: .libostree))
        }
        out += "\nCHECKS\n" + checks(status.checks)
        out += "\nLAST DECISION\n"
        if let decision = status.lastDecision {
            out += decisionLine(decision, in: status.deployments) + "\n"
        } else {
            out += "none yet\n"
        }
        if !status.badReleases.isEmpty {
            out += "\nBAD RELEASES\n"
            for bad in status.badReleases {
                out += "\(bad.version ?? String(bad.checksum.prefix(12)))  \(TableDate.string(bad.at))  \(bad.reason)\n"
            }
        }
        return out
    }

    /// The checks table: health after thresholds, then the latest result.
    static func checks(_ checks: [CheckDocument]) -> String {
        guard !checks.isEmpty else { return "no checks configured\n" }
        var table = TextTable(header: ["NAME", "KIND", "REQUIRED", "STATE", "LAST", "LATENCY", "AT", "MESSAGE"])
        for check in checks {
            let last = check.last
            table.rows.append([
                check.name, check.kind.rawValue, check.required ? "yes" : "no", check.state.rawValue,
                last?.status.rawValue ?? "-", last.map { $0.latencyMs.fixed(1) + "ms" } ?? "-",
                TableDate.string(last?.observedAt), last.map { firstLine($0.message) } ?? "-",
            ])
        }
        return table.render()
    }

    /// `rearguard history`: boots, then decisions, newest first.
    static func history(_ history: HistoryDocument) -> String {
        var out = "BOOTS\n"
        if history.boots.isEmpty {
            out += "none yet\n"
        } else {
            var table = TextTable(header: ["STARTED", "DEPLOYMENT", "STATE", "BOOT", "REASONS"])
            for boot in history.boots {
                table.rows.append([
                    TableDate.string(boot.startedAt), boot.version ?? String(boot.checksum.prefix(12)), boot.state.rawValue,
                    String(boot.bootID.prefix(8)), boot.reasons.isEmpty ? "-" : boot.reasons.joined(separator: "; "),
                ])
            }
            out += table.render()
        }
        out += "\nDECISIONS\n"
        if history.decisions.isEmpty {
            out += "none yet\n"
        } else {
            var table = TextTable(header: ["AT", "ACTION", "DEPLOYMENT", "REASON"])
            for decision in history.decisions {
                table.rows.append([
                    TableDate.string(decision.at), decision.action.rawValue, String(decision.deployment.prefix(12)),
                    decision.reason,
                ])
            }
            out += table.render()
        }
        return out
    }

    /// `rearguard explain`: the state, what comes next, and the facts behind it.
    static func explain(_ explanation: ExplainDocument) -> String {
        var out = "\(explanation.state.rawValue.uppercased()): next, \(explanation.next)\n"
        for fact in explanation.because { out += "  because \(fact)\n" }
        return out
    }

    private static func decisionLine(_ decision: Assessment.Decision, in deployments: [DeploymentInfo]) -> String {
        let target = deployments.first { $0.checksum == decision.deployment }
        let label = target?.version ?? String(decision.deployment.prefix(12))
        return "\(decision.action.rawValue) \(label) at \(TableDate.string(decision.at)): \(decision.reason)"
    }

    private static func firstLine(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }
}
