import DBus
import Logging
import RearguardCore
import Systemd

/// Performs the `Assessment.Action`s the agent's assessment returns, in order, with the persist-first rule: a failed
/// `persist` stops the batch, so nothing is done that the memory on disk does not explain. It owns the effects
/// (the Zincati hold, the rollback through the driver, the reboot, unit restarts) and no state: everything runs on the
/// agent's executor, and outcomes go back to the agent as events (`rollbackApplied`, `rollbackFailed`).
struct Actuator: Sendable {
    let env: Agent.Environment
    let logger: Logger

    init(environment: Agent.Environment, logger: Logger) {
        self.env = environment
        self.logger = logger
    }

    /// How a batch of actions ended.
    enum Outcome { case done, notPersisted, stopped }

    /// Performs actions in order; a failed `persist` stops the rest (nothing is done that memory does not explain).
    /// Runs on the agent's executor (`agent` is isolated): no decision gains an await between the memory read and the act.
    @discardableResult
    func perform(_ actions: [Assessment.Action], on agent: isolated Agent) async -> Outcome {
        let decidesRollback = actions.contains { if case .rollback = $0 { true } else { false } }
        var persisted = false
        for action in actions {
            switch action {
            case .persist:
                if decidesRollback && !persisted { Failpoint.beforeIntent.reach(logger) }
                guard agent.persist() else { return persisted ? .stopped : .notPersisted }
                if decidesRollback && !persisted { Failpoint.afterIntent.reach(logger) }
                persisted = true
            case .announce(let decision):
                JournalEvents.log(decision, to: logger)
            case .assertHold:
                // A later decision (an admin's release) may have landed while this batch waited.
                if agent.assessment.memory.updatesHeld { await assertHold(on: agent) }
            case .removeHold:
                if !agent.assessment.memory.updatesHeld { await removeHold(on: agent) }
            case .clearStaged:
                guard let driver = agent.driver else {
                    await agent.feed(.rollbackFailed("no rollback driver", at: env.now()))
                    return .stopped
                }
                do {
                    try await driver.clearStaged()
                } catch {
                    await agent.feed(.rollbackFailed("cannot clear the staged deployment: \(error)", at: env.now()))
                    return .stopped
                }
            case .rollback(let from, let to):
                guard let driver = agent.driver else {
                    await agent.feed(.rollbackFailed("no rollback driver", at: env.now()))
                    return .stopped
                }
                logger.warning("rolling back", metadata: ["from": "\(from.checksum)", "to": "\(to.checksum)"])
                do {
                    try await driver.rollback(from: from, to: to)
                } catch {
                    // The sysroot decides, never the error: a transaction given up on (timeout, lost connection,
                    // cancelled) may still go through after we stopped waiting, so wait for it a while.
                    let certain = Self.isCertainFailure(error)
                    let settle = min(Self.settleTime, env.settings.rollback.transactionTimeout)
                    if await sysrootBootsFirst(to.checksum, waitingUpTo: certain ? .zero : settle, on: agent) {
                        logger.warning("the rollback reported an error but the sysroot boots the target first", metadata: ["error": "\(error)"])
                    } else {
                        await agent.feed(.rollbackFailed("\(error)", at: env.now()))
                        return .stopped
                    }
                }
                Failpoint.afterTransaction.reach(logger)
                // Status shows the new boot order (the target pending) while the reboot is under way.
                if let snap = try? await env.source.snapshot(knownBooted: agent.knownBooted) { agent.snapshot = snap }
                await agent.feed(.rollbackApplied(at: env.now()))
                return .stopped
            case .reboot(let reason):
                Failpoint.beforeReboot.reach(logger)
                if let fleet = env.fleet {
                    // Never a reboot without the fleet's slot: the coordinator reboots once the server grants it.
                    logger.notice("waiting for the fleet's reboot slot before rebooting", metadata: ["reason": "\(reason)"])
                    await fleet.request(.rebootWhenHeld(reason: reason))
                } else {
                    await reboot(reason, on: agent)
                }
            case .releaseRebootSlot(let afterUpdate):
                await releaseRebootSlot(afterUpdate: afterUpdate, on: agent)
            case .restartUnits(let units):
                await restart(units, on: agent)
            }
        }
        return .done
    }

    /// How long an uncertain rollback outcome is watched for (at most the transaction timeout) before it counts as failed.
    static let settleTime = Duration.seconds(30)

    /// Failures after which the sysroot cannot have changed: the call was refused or the transaction said it failed.
    static func isCertainFailure(_ error: any Error) -> Bool {
        if error is RollbackError { return true }
        if let error = error as? BusError { return error.code == .busError || error.code == .transactionFailed }
        return false
    }

    /// Whether the sysroot boots `checksum` first, re-reading it for up to `limit`.
    private func sysrootBootsFirst(_ checksum: String, waitingUpTo limit: Duration, on agent: isolated Agent) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            if let snap = try? await env.source.snapshot(knownBooted: agent.knownBooted),
               snap.deployments.first(where: { !$0.isStaged })?.checksum == checksum {
                return true
            }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func assertHold(on agent: isolated Agent) async {
        let wasAsserted = env.hold.isAsserted
        do {
            try env.hold.assert()
        } catch {
            logger.error("cannot write the Zincati hold", metadata: ["path": "\(env.hold.path)", "error": "\(error)"])
            return
        }
        // Zincati reads its config only at start: restart it if it already runs without the hold.
        if !wasAsserted { await restartZincatiIfActive(on: agent) }
    }

    private func removeHold(on agent: isolated Agent) async {
        do {
            try env.hold.release()
        } catch {
            logger.error("cannot remove the Zincati hold", metadata: ["path": "\(env.hold.path)", "error": "\(error)"])
            return
        }
        await restartZincatiIfActive(on: agent)
    }

    private func restartZincatiIfActive(on agent: isolated Agent) async {
        guard let bus = env.bus else { return }
        do {
            let status = try await bus.unitStatus("zincati.service")
            guard status.activeState == "active" || status.activeState == "activating" else { return }
            _ = try await bus.restartUnit("zincati.service")
            logger.info("restarted zincati.service so it reads the hold")
        } catch {
            logger.warning("cannot restart zincati.service", metadata: ["error": "\(error)"])
        }
    }

    /// Gives the fleet's slot back: always after an admin's release; after a good update only when Zincati, which
    /// gives it back itself once `boot-complete.target` is reached, is not on this node.
    private func releaseRebootSlot(afterUpdate: Bool, on agent: isolated Agent) async {
        guard let fleet = env.fleet else { return }
        if afterUpdate {
            guard let bus = env.bus, let zincati = try? await bus.unitStatus("zincati.service"), zincati.loadState == "not-found" else {
                logger.info("update marked good: Zincati gives the fleet's reboot slot back")
                return
            }
        }
        await fleet.request(.release)
    }

    /// Reboots now (the fleet's slot, if any, is already held).
    func reboot(_ reason: String, on agent: isolated Agent) async {
        guard let bus = env.bus else {
            logger.error("cannot reboot: no system bus; the rollback applies at the next boot")
            return
        }
        logger.warning("rebooting: \(reason)")
        // Rearguard's own reboot is the way back: its inhibitor must not stand in the way.
        agent.releaseInhibitor("rearguard reboots")
        do {
            let path = try await bus.reboot()
            logger.notice("reboot requested", metadata: ["via": "\(path)"])
        } catch {
            logger.error("reboot request failed; the rollback applies at the next boot", metadata: ["error": "\(error)"])
        }
    }

    private func restart(_ units: [String], on agent: isolated Agent) async {
        guard let bus = env.bus else { return }
        for unit in units {
            do {
                _ = try await bus.restartUnit(unit)
                logger.notice("restarted \(unit) for its failing check")
            } catch {
                logger.error("cannot restart \(unit)", metadata: ["error": "\(error)"])
            }
        }
    }
}
