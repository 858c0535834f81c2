import RearguardCore
import Systemd

/// Updates held while the node is unhealthy (`[assessment] inhibit_while_failing`): a logind `shutdown` inhibitor in
/// `block` mode, so that no update reboot (Zincati's, an admin's unprivileged `systemctl reboot`) starts on a node
/// that is in probation or already degraded. `delay` would only postpone such a reboot by seconds. The lock is the
/// file descriptor logind handed out: it ends when it is closed, or with the agent process.
extension Agent {
    /// Why the inhibitor should be held now, or nil: in probation, or a required check failing on a known-good boot,
    /// while the agent enforces. Never while Rearguard itself is about to reboot (rolling back).
    func inhibitorWanted() -> String? {
        guard env.settings.assessment.inhibitWhileFailing, env.bus != nil, assessment.policy.isEnforcing,
              let boot = assessment.boot
        else { return nil }
        switch assessment.state {
        case .probation:
            return "probation of \(boot.booted.label): its required checks must pass for the soak before updates continue"
        case .failing:
            return "required checks failing on \(boot.booted.label)"
        case .good:
            if case .failing(let reasons, _) = currentVerdict() {
                return "required checks failing on known-good \(boot.booted.label): \(reasons.joined(separator: "; "))"
            }
            return nil
        case .firstBoot, .rollingBack, .rolledBack, .quarantine:
            return nil
        }
    }

    /// Takes or releases the inhibitor to match `inhibitorWanted()`; a failure to take it is logged and retried after
    /// 30 s (it never stops the assessment).
    func syncInhibitor() async {
        guard !isSyncingInhibitor, let bus = env.bus else { return }
        isSyncingInhibitor = true
        defer { isSyncingInhibitor = false }
        while true {
            let wanted = inhibitorWanted()
            if wanted == nil, inhibitor != nil {
                releaseInhibitor("checks passing again or nothing to protect")
                continue
            }
            guard let wanted, inhibitor == nil else { return }
            if let after = inhibitorRetryAfter, ContinuousClock.now < after { return }
            do {
                let lock = try await bus.inhibit(what: "shutdown", who: "rearguard", why: wanted, mode: "block")
                inhibitor = lock
                inhibitorReason = wanted
                inhibitorRetryAfter = nil
                logger.notice("update reboots inhibited", metadata: ["why": "\(wanted)"])
            } catch {
                inhibitorRetryAfter = ContinuousClock.now + .seconds(30)
                logger.warning("cannot take the shutdown inhibitor", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Releases the inhibitor now, if held (before Rearguard's own reboot, and when it is no longer wanted).
    func releaseInhibitor(_ why: String) {
        guard let lock = inhibitor else { return }
        lock.release()
        inhibitor = nil
        inhibitorReason = nil
        logger.info("update reboots no longer inhibited", metadata: ["why": "\(why)"])
    }
}
