import FoundationEssentials

/// The boot assessment: a pure state machine (STYLE K3). An actor feeds it events (a boot, check verdicts,
/// rollback outcomes, admin requests) and performs the actions it returns, in order. It owns the memory
/// that is persisted, so `persist` always comes before an action that must survive a crash.
public struct Assessment: Sendable, Equatable {
    /// The assessment states; the raw values appear as-is in status.
    public enum State: String, Sendable, Codable, CaseIterable {
        case firstBoot = "first-boot"
        case probation
        case good
        case failing
        case rollingBack = "rolling-back"
        case rolledBack = "rolled-back"
        case quarantine
    }

    /// What the assessment may do.
    public struct Policy: Sendable, Equatable {
        /// False in `observe` mode: everything is decided and shown, nothing is acted on.
        public var isEnforcing: Bool
        /// How long every required check must pass without a break before a deployment is known good.
        public var soak: TimeInterval
        /// Reboots by Rearguard allowed in any 24 hours.
        public var maxRebootsPerDay: Int

        /// Creates a policy.
        public init(isEnforcing: Bool = true, soak: TimeInterval = 600, maxRebootsPerDay: Int = 1) {
            self.isEnforcing = isEnforcing
            self.soak = soak
            self.maxRebootsPerDay = maxRebootsPerDay
        }
    }

    /// A deployment as the assessment remembers it.
    public struct Release: Sendable, Equatable, Codable {
        /// The commit checksum: the identity that counts.
        public var checksum: String
        /// The `version` metadata, for people.
        public var version: String?
        /// The origin refspec or image reference.
        public var origin: String?

        /// Creates a release.
        public init(checksum: String, version: String? = nil, origin: String? = nil) {
            self.checksum = checksum
            self.version = version
            self.origin = origin
        }

        /// The version when known, else a short checksum.
        public var label: String { version ?? String(checksum.prefix(12)) }
    }

    /// What the agent knows about the boot it runs in.
    public struct Boot: Sendable, Equatable {
        /// The kernel's boot id: a new value is a new boot.
        public var bootID: String
        /// The booted deployment.
        public var booted: Release
        /// The deployment a rollback would boot, if any.
        public var rollback: Release?
        /// The deployment first in boot order (not staged): what boots next if nothing changes.
        public var defaultChecksum: String?
        /// A deployment is staged (Zincati stages updates).
        public var hasStaged: Bool
        /// The staged deployment, when known: what should boot next if its finalization at shutdown works.
        public var staged: Release?

        /// Creates a boot description.
        public init(
            bootID: String, booted: Release, rollback: Release?, defaultChecksum: String?, hasStaged: Bool, staged: Release? = nil
        ) {
            self.bootID = bootID
            self.booted = booted
            self.rollback = rollback
            self.defaultChecksum = defaultChecksum
            self.hasStaged = hasStaged || staged != nil
            self.staged = staged
        }
    }

    /// The required checks' combined verdict, after thresholds.
    public enum Verdict: Sendable, Equatable {
        /// Every required check passes.
        case passing
        /// Some required check failed past its threshold; reasons name them, units are their `restart_unit`s.
        case failing(reasons: [String], restartUnits: [String])
        /// No required check fails, but some result is unknown (not in yet, bus down): never a pass.
        case unknown(reasons: [String])
    }

    /// The inputs.
    public enum Event: Sendable, Equatable {
        /// The agent started in a boot and read the deployments.
        case started(Boot, at: Date)
        /// The deployments were read again in the same boot (an update was staged or cleaned up meanwhile).
        case deploymentsRead(Boot)
        /// A new combined verdict of the required checks.
        case checks(Verdict, at: Date)
        /// The rollback transaction finished and the sysroot now boots the target first.
        case rollbackApplied(at: Date)
        /// The rollback could not be done (the sysroot still boots the bad deployment first).
        case rollbackFailed(String, at: Date)
        /// An admin asked to hold updates.
        case holdRequested(at: Date)
        /// An admin released the hold and any quarantine.
        case releaseRequested(at: Date)
        /// The mode or timings changed (config or `rearguard mode`).
        case policyChanged(Policy)
    }

    /// The outputs, performed in order by the assessment's actor.
    public enum Action: Sendable, Equatable {
        /// Write `memory` durably (fsync) before going on.
        case persist
        /// Tell people and the journal (a stable MESSAGE_ID per decision kind).
        case announce(Decision)
        /// Write the Zincati hold drop-in (asserted every boot while held).
        case assertHold
        /// Remove the Zincati hold drop-in.
        case removeHold
        /// Clear the staged deployment (rpm-ostreed `Cleanup(["pending-deploy"])`) before rolling back.
        case clearStaged
        /// Make `to` the default deployment (rpm-ostree rollback semantics), without rebooting.
        case rollback(from: Release, to: Release)
        /// Reboot the node.
        case reboot(reason: String)
        /// Restart the units that serve failing checks (only on a known-good deployment).
        case restartUnits([String])
        /// Give the fleet's reboot slot back (FleetLock `steady-state`): an admin released a good node
        /// (`afterUpdate` false, always done), or an update was marked good (done only when Zincati is not there to
        /// do it itself).
        case releaseRebootSlot(afterUpdate: Bool)
    }

    /// One decision, as shown in status and sent to the journal.
    public struct Decision: Sendable, Equatable, Codable {
        /// The kinds of decision, each with its own journal MESSAGE_ID.
        public enum Kind: String, Sendable, Codable, CaseIterable {
            case bootMarkedGood = "boot-marked-good"
            case rollbackStarted = "rollback-started"
            case rollbackDone = "rollback-done"
            case rollbackWithheld = "rollback-withheld"
            case quarantineEntered = "quarantine-entered"
            case updatesHeld = "updates-held"
            case updatesReleased = "updates-released"
            case unitsRestarted = "units-restarted"
            case finalizationFailed = "finalization-failed"
        }
        /// What was decided.
        public var action: Kind
        /// Why, in words an admin reads.
        public var reason: String
        /// The deployment it concerns (checksum).
        public var deployment: String
        /// When.
        public var at: Date
    }

    /// Policy in force.
    public private(set) var policy: Policy
    /// The persistent memory (written on `persist`).
    public private(set) var memory: AssessmentMemory
    /// The boot being assessed; nil until `started`.
    public private(set) var boot: Boot?
    /// Since when every required check has passed without a break in this boot.
    public private(set) var passingSince: Date?
    /// Units already restarted for the current failing episode (one restart per episode).
    private var restartedThisEpisode = false

    /// Starts from remembered memory (an empty one on a node's first run).
    public init(policy: Policy, memory: AssessmentMemory = AssessmentMemory()) {
        self.policy = policy
        self.memory = memory
    }

    /// The current state, as status shows it.
    public var state: State { memory.current?.state ?? .firstBoot }

    /// Whether decisions are acted on for the booted deployment.
    private var isActing: Bool {
        guard let boot else { return false }
        return policy.isEnforcing && !memory.observeOnly.contains(boot.booted.checksum)
    }

    /// Feeds one event and returns what to do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .policyChanged(let policy):
            self.policy = policy
            return []
        case .started(let boot, let now):
            return start(boot, now)
        case .deploymentsRead(let fresh):
            // Only what may change within a boot; another boot or booted deployment comes through `started`.
            guard let boot, boot.bootID == fresh.bootID, boot.booted.checksum == fresh.booted.checksum else { return [] }
            self.boot?.rollback = fresh.rollback
            self.boot?.defaultChecksum = fresh.defaultChecksum
            self.boot?.hasStaged = fresh.hasStaged
            self.boot?.staged = fresh.staged
            return rememberStaged(fresh) ? [.persist] : []
        case .checks(let verdict, let now):
            return judge(verdict, now)
        case .rollbackApplied(let now):
            return rollbackApplied(now)
        case .rollbackFailed(let message, let now):
            return rollbackFailed(message, now)
        case .holdRequested(let now):
            guard let boot, !memory.updatesHeld else { return memory.updatesHeld ? [.assertHold] : [] }
            memory.updatesHeld = true
            return [.persist, .assertHold, announce(.updatesHeld, "held by an admin", boot, now)]
        case .releaseRequested(let now):
            return release(now)
        }
    }

    /// Remembers which deployment this boot runs, as resolved at its start (not a decision: no state changes).
    public mutating func rememberBootedIdentity(_ record: BootedIdentityRecord) {
        memory.bootedIdentity = record
    }

    /// Remembers the mode an admin chose; the caller feeds the resulting policy with `policyChanged`.
    public mutating func rememberMode(_ mode: AssessmentMode?) {
        memory.modeOverride = mode
    }

    // MARK: boot

    private mutating func start(_ boot: Boot, _ now: Date) -> [Action] {
        self.boot = boot
        passingSince = nil
        restartedThisEpisode = false
        var actions: [Action] = []
        if memory.updatesHeld { actions.append(.assertHold) }
        // What was staged when an earlier boot was last read: it should be what booted now.
        let stagedBefore = memory.stagedUpdate.flatMap { $0.bootID == boot.bootID ? nil : $0 }
        _ = rememberStaged(boot)

        if let intent = memory.intent {
            if intent.bootID == boot.bootID {
                return actions + resumeInSameBoot(intent, boot, now)
            }
            memory.intent = nil
            // Whatever booted, this rollback was attempted: it counts towards "once per deployment, ever", also when
            // the agent died before recording its outcome.
            memory.recordRollback(intent, at: now)
            if boot.booted.checksum == intent.to.checksum {
                setState(.rolledBack, boot, reason: intent.reason, at: now)
                memory.recordBad(intent.from, reason: intent.reason, at: now)
                memory.updatesHeld = true
                return actions + [
                    .persist, .assertHold,
                    announce(.rollbackDone, "back on \(intent.to.label) after \(intent.from.label): \(intent.reason)", boot, now),
                ]
            }
            if boot.booted.checksum == intent.from.checksum {
                let reason = "rollback to \(intent.to.label) did not boot; still on \(intent.from.label)"
                setState(.quarantine, boot, reason: reason, at: now)
                memory.recordBad(intent.from, reason: intent.reason, at: now)
                memory.updatesHeld = true
                return actions + [.persist, .assertHold, announce(.quarantineEntered, reason, boot, now)]
            }
        }

        if let staged = stagedBefore, staged.release.checksum != boot.booted.checksum {
            // ostree-finalize-staged failed at shutdown (or the staged deployment was removed): the old deployment
            // booted again. Not an update, so no probation because of it; say so, once.
            memory.finalizationFailures += 1
            actions.append(announce(
                .finalizationFailed,
                "\(staged.release.label) was staged but \(boot.booted.label) booted again: the update was not finalized at shutdown",
                boot, now))
        }

        if let current = memory.current, current.checksum == boot.booted.checksum,
           current.state == .rolledBack || current.state == .quarantine {
            // Sticky until another deployment boots or an admin releases it.
            memory.current?.bootID = boot.bootID
            memory.recordBoot(boot, state: current.state, reason: current.reason, at: now)
            return actions + [.persist]
        }
        let state: State
        if memory.isKnownGood(boot.booted.checksum) {
            state = .good
        } else if memory.knownGood.isEmpty && memory.badReleases.isEmpty {
            state = .firstBoot
        } else {
            state = .probation
        }
        setState(state, boot, reason: nil, at: now)
        return actions + [.persist]
    }

    /// The agent restarted within the boot in which it had decided to roll back.
    private mutating func resumeInSameBoot(_ intent: RollbackIntent, _ boot: Boot, _ now: Date) -> [Action] {
        setState(.rollingBack, boot, reason: intent.reason, at: now)
        guard isActing else {
            // Decided while enforcing, resumed while observing: keep the intent, do nothing, say so.
            let what = intent.phase == .requested ? "rollback to \(intent.to.label)" : "reboot into \(intent.to.label)"
            return [.persist, announce(.rollbackWithheld, "\(what) is pending; not acting: observe mode", boot, now)]
        }
        switch intent.phase {
        case .requested:
            if boot.defaultChecksum == intent.to.checksum {
                // The transaction went through before the agent stopped: only the reboot is left.
                return rollbackApplied(now)
            }
            // It did not: the default is still the bad deployment, so asking again cannot swap back.
            var actions: [Action] = [.persist]
            if boot.hasStaged { actions.append(.clearStaged) }
            actions.append(.rollback(from: intent.from, to: intent.to))
            return actions
        case .rebootRequested:
            // The reboot was asked for but this boot goes on: ask once more, never roll back again.
            guard intent.rebootAttempts < 2 else {
                memory.intent = nil
                let reason = "reboot into \(intent.to.label) did not happen"
                setState(.quarantine, boot, reason: reason, at: now)
                return [.persist, announce(.quarantineEntered, reason, boot, now)]
            }
            memory.intent?.rebootAttempts += 1
            return [.persist, .reboot(reason: intent.reason)]
        }
    }

    // MARK: verdicts

    private mutating func judge(_ verdict: Verdict, _ now: Date) -> [Action] {
        guard let boot else { return [] }
        switch (state, verdict) {
        case (.rollingBack, _), (.rolledBack, _), (.quarantine, _):
            return []
        case (.good, .failing(let reasons, let units)):
            // Never blamed on the OS once a deployment is known good.
            guard !units.isEmpty, !restartedThisEpisode, isActing else { return [] }
            restartedThisEpisode = true
            return [.restartUnits(units), announce(.unitsRestarted, reasons.joined(separator: "; "), boot, now)]
        case (.good, _):
            restartedThisEpisode = false
            return []
        case (_, .unknown):
            passingSince = nil
            return []
        case (.firstBoot, .failing(let reasons, _)):
            passingSince = nil
            setState(.firstBoot, boot, reason: reasons.joined(separator: "; "), at: now)
            return [.persist]
        case (.probation, .failing(let reasons, _)), (.failing, .failing(let reasons, _)):
            passingSince = nil
            return decideRollback(reasons.joined(separator: "; "), boot, now)
        case (.failing, .passing):
            setState(.probation, boot, reason: nil, at: now)
            passingSince = now
            return [.persist]
        case (.firstBoot, .passing), (.probation, .passing):
            let since = passingSince ?? now
            passingSince = since
            guard now.timeIntervalSince(since) >= policy.soak else { return [] }
            let wasUpdate = state == .probation
            memory.markGood(boot.booted, at: now)
            setState(.good, boot, reason: nil, at: now)
            var actions: [Action] = [.persist, announce(.bootMarkedGood, "every required check passed for \(Int(policy.soak)) s", boot, now)]
            if memory.releaseSlotWhenGood {
                memory.releaseSlotWhenGood = false
                actions.insert(.releaseRebootSlot(afterUpdate: false), at: 1)
            } else if wasUpdate {
                actions.append(.releaseRebootSlot(afterUpdate: true))
            }
            return actions
        }
    }

    private mutating func decideRollback(_ reason: String, _ boot: Boot, _ now: Date) -> [Action] {
        let wasFailing = state == .failing
        setState(.failing, boot, reason: reason, at: now)
        let from = boot.booted
        let refusal: String?
        if let target = boot.rollback {
            if !memory.isKnownGood(target.checksum) {
                refusal = "rollback deployment \(target.label) was never known good"
            } else if memory.rollbacks.contains(where: { $0.from == from.checksum }) {
                refusal = "already rolled back from \(from.label) once"
            } else if memory.reboots(since: now.addingTimeInterval(-86_400)) >= policy.maxRebootsPerDay {
                refusal = "reboot budget of \(policy.maxRebootsPerDay) per day is used"
            } else {
                refusal = nil
            }
        } else {
            refusal = "no rollback deployment"
        }
        guard isActing else {
            if wasFailing { return [.persist] }
            let would = refusal.map { "would not roll back: \($0)" } ?? "would roll back to \(boot.rollback?.label ?? "-")"
            return [.persist, announce(.rollbackWithheld, "\(reason); observe mode, \(would)", boot, now)]
        }
        if let refusal {
            let why = "\(reason); \(refusal)"
            setState(.quarantine, boot, reason: why, at: now)
            memory.recordBad(from, reason: reason, at: now)
            return [.persist, announce(.quarantineEntered, why, boot, now)]
        }
        guard let target = boot.rollback else { return [] }
        memory.intent = RollbackIntent(from: from, to: target, bootID: boot.bootID, reason: reason, at: now)
        setState(.rollingBack, boot, reason: reason, at: now)
        var actions: [Action] = [.persist, announce(.rollbackStarted, "\(reason); rolling back to \(target.label)", boot, now)]
        if boot.hasStaged { actions.append(.clearStaged) }
        actions.append(.rollback(from: from, to: target))
        return actions
    }

    // MARK: rollback outcomes

    private mutating func rollbackApplied(_ now: Date) -> [Action] {
        guard boot != nil, state == .rollingBack, let intent = memory.intent else { return [] }
        memory.intent?.phase = .rebootRequested
        memory.intent?.rebootAttempts = 1
        memory.recordRollback(intent, at: now)
        memory.recordBad(intent.from, reason: intent.reason, at: now)
        memory.updatesHeld = true
        guard isActing else {
            // Switched to observe while the transaction ran: the next boot, whenever it comes, completes it.
            return [.persist, .assertHold]
        }
        memory.rebootTimes.append(now)
        return [
            .persist, .assertHold,
            .reboot(reason: "rolling back from \(intent.from.label) to \(intent.to.label): \(intent.reason)"),
        ]
    }

    private mutating func rollbackFailed(_ message: String, _ now: Date) -> [Action] {
        guard let boot, state == .rollingBack, let intent = memory.intent else { return [] }
        memory.intent = nil
        let reason = "\(intent.reason); rollback failed: \(message)"
        setState(.quarantine, boot, reason: reason, at: now)
        memory.recordBad(intent.from, reason: intent.reason, at: now)
        return [.persist, announce(.quarantineEntered, reason, boot, now)]
    }

    // MARK: admin

    private mutating func release(_ now: Date) -> [Action] {
        guard let boot else { return [] }
        var actions: [Action] = []
        switch state {
        case .quarantine:
            // From now on this checksum is only observed, never acted on.
            memory.observeOnly.insert(boot.booted.checksum)
            setState(memory.isKnownGood(boot.booted.checksum) ? .good : .probation, boot, reason: nil, at: now)
            passingSince = nil
        case .rolledBack:
            setState(memory.isKnownGood(boot.booted.checksum) ? .good : .probation, boot, reason: nil, at: now)
        default:
            break
        }
        let wasHeld = memory.updatesHeld
        memory.updatesHeld = false
        // The fleet's reboot slot (kept since a rollback) goes back once this node is good.
        memory.releaseSlotWhenGood = state != .good
        actions.append(.persist)
        if wasHeld { actions.append(.removeHold) }
        if state == .good { actions.append(.releaseRebootSlot(afterUpdate: false)) }
        actions.append(announce(.updatesReleased, "released by an admin", boot, now))
        return actions
    }

    // MARK: helpers

    /// Keeps what this boot has staged (or that nothing is); true when the memory changed.
    private mutating func rememberStaged(_ boot: Boot) -> Bool {
        let record = boot.staged.map { StagedUpdate(release: $0, bootID: boot.bootID) }
        guard memory.stagedUpdate != record else { return false }
        memory.stagedUpdate = record
        return true
    }

    private mutating func setState(_ state: State, _ boot: Boot, reason: String?, at now: Date) {
        memory.current = CurrentBoot(bootID: boot.bootID, checksum: boot.booted.checksum, state: state, reason: reason)
        memory.recordBoot(boot, state: state, reason: reason, at: now)
    }

    private mutating func announce(_ kind: Decision.Kind, _ reason: String, _ boot: Boot, _ now: Date) -> Action {
        let decision = Decision(action: kind, reason: reason, deployment: boot.booted.checksum, at: now)
        memory.recordDecision(decision)
        return .announce(decision)
    }
}
