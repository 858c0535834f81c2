import DBus
import Foundation
import Glibc
import Logging
import RearguardAPI
import RearguardChecks
import RearguardCore
import ServiceLifecycle
import Systemd

/// The running agent (`rearguard run`): reads the boot, runs the checks on their intervals (unit checks also on
/// every change systemd signals), feeds the pure `Assessment` and performs what it returns, in order, persisting
/// before anything that must survive a crash. When it cannot tell (untrustworthy state, unreadable boot id or
/// deployments) it observes and reports, never acts.
public actor Agent: AgentEndpoint, Service {
    /// What the agent needs from its surroundings.
    public struct Environment: Sendable {
        /// The settings in force.
        public var settings: Settings
        /// The config folders read, for status.
        public var configDescription: String
        /// Rearguard's version.
        public var version: String
        /// The state file.
        public var store: FileStateStore
        /// Where deployments are read.
        public var source: OSTreeDeploymentSource
        /// The system bus (systemd, logind, rpm-ostreed); nil runs without one (unit checks unknown, no reboot).
        public var bus: Bus?
        /// The probes.
        public var engine: CheckEngine
        /// Makes the rollback driver once the booted deployment is known.
        public var makeDriver: @Sendable (BootedIdentity?) -> any RollbackDriver
        /// The Zincati hold drop-in.
        public var hold: ZincatiHold
        /// The clock decisions are timed with: by default the wall time at start advanced by a monotonic clock, so a
        /// clock step (NTP's makestep at boot) neither shortens a soak nor stretches it.
        public var now: @Sendable () -> Date

        /// Creates an environment.
        public init(
            settings: Settings, configDescription: String, version: String, store: FileStateStore,
            source: OSTreeDeploymentSource, bus: Bus?, engine: CheckEngine,
            makeDriver: @escaping @Sendable (BootedIdentity?) -> any RollbackDriver, hold: ZincatiHold,
            now: @escaping @Sendable () -> Date = Agent.monotonicWallClock()
        ) {
            self.settings = settings
            self.configDescription = configDescription
            self.version = version
            self.store = store
            self.source = source
            self.bus = bus
            self.engine = engine
            self.makeDriver = makeDriver
            self.hold = hold
            self.now = now
        }
    }

    /// Why the agent only observes, by source; empty when it may act.
    private enum Doubt: String, Comparable {
        case state, bootID = "boot-id", deployments, stateWrite = "state-write"
        static func < (a: Doubt, b: Doubt) -> Bool { a.rawValue < b.rawValue }
    }

    private let env: Environment
    private let logger: Logger
    private let specs: [CheckSpec]
    private let startedAt: Date
    private var assessment: Assessment
    private var doubts: [Doubt: String] = [:]
    /// False when the state file must not be written (newer schema, unreadable boot id).
    private var mayPersist = true
    private var bootID: String?
    private var snapshot: DeploymentSnapshot?
    private var knownBooted: BootedIdentity?
    private var driver: (any RollbackDriver)?
    private var trackers: [String: CheckTracker] = [:]
    private var histories: [String: [CheckResult]] = [:]
    private var lastVerdict: Assessment.Verdict?
    private var startTask: Task<Void, Never>?

    /// A clock that reads the wall time once and then advances with the monotonic clock.
    public static func monotonicWallClock() -> @Sendable () -> Date {
        let wall = Date()
        let start = ContinuousClock.now
        return {
            return wall.addingTimeInterval(ConfigDuration.seconds(ContinuousClock.now - start))
        }
    }

    /// How many results each check keeps for status.
    public static let historyLimit = 20

    /// Creates the agent; nothing is read until `run` (or `start`).
    public init(environment: Environment, logger: Logger) {
        env = environment
        self.logger = logger
        var specs = environment.settings.checks
        if environment.settings.greenboot.enabled { specs += Greenboot.checks() }
        self.specs = specs
        startedAt = environment.now()
        assessment = Assessment(policy: Self.policy(environment.settings, override: nil, enforcing: true))
        for spec in specs { trackers[spec.name] = CheckTracker(spec: spec) }
    }

    private static func policy(_ settings: Settings, override: AssessmentMode?, enforcing: Bool) -> Assessment.Policy {
        let mode = override ?? settings.assessment.mode
        return Assessment.Policy(
            isEnforcing: enforcing && mode == .enforce,
            soak: ConfigDuration.seconds(settings.assessment.soak),
            maxRebootsPerDay: settings.assessment.maxRebootsPerDay)
    }

    // MARK: lifecycle

    /// Runs until cancelled or a graceful shutdown: start, then the check loops, the unit watch and the refresher.
    public func run() async throws {
        await start()
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                for spec in specs {
                    group.addTask { await self.checkLoop(spec) }
                }
                let unitSpecs = specs.filter { if case .unit = $0.target { true } else { false } }
                if let bus = env.bus, !unitSpecs.isEmpty {
                    group.addTask { await self.watchUnits(unitSpecs, bus: bus) }
                }
                group.addTask { await self.refreshLoop() }
                await group.waitForAll()
            }
        }
    }

    /// Reads the state, the boot id and the deployments, and feeds the boot to the assessment. Idempotent.
    public func start() async {
        if let startTask { return await startTask.value }
        let task = Task { await self.performStart() }
        startTask = task
        await task.value
    }

    private func performStart() async {
        let load = await env.store.load()
        switch load {
        case .fresh, .loaded:
            break
        case .corrupt(let keptAs, let reason):
            // The file is aside; a fresh memory has no known-good baseline, so nothing can be rolled back from it.
            doubts[.state] = "the state file was unusable (\(reason)); kept as \(keptAs): remove it once checked"
            // Writing a fresh memory would make the next start trust it and forget past rollbacks: write nothing.
            mayPersist = false
        case .unsupported(let version):
            doubts[.state] = "the state file has schema \(version), newer than this agent's \(FileStateStore.schemaVersion); left untouched"
            mayPersist = false
        }
        assessment = Assessment(
            policy: Self.policy(env.settings, override: load.memory.modeOverride, enforcing: true), memory: load.memory)
        if let doubt = doubts[.state] { logger.error("observing only: \(doubt)") }
        readBootID()
        await readBoot(initial: true)
    }

    private func readBootID() {
        let path = env.settings.host.bootId
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty {
                bootID = id
                doubts[.bootID] = nil
                return
            }
        }
        doubts[.bootID] = "cannot read the boot id from \(path)"
        mayPersist = false
        logger.error("cannot read the boot id: observing only", metadata: ["path": "\(path)"])
    }

    /// Reads the deployments; the first successful read in a boot starts the assessment, later ones refresh it.
    private func readBoot(initial: Bool) async {
        guard let bootID else { return }
        let remembered = assessment.memory.bootedIdentity.flatMap { record -> BootedIdentity? in
            record.bootID == bootID ? BootedIdentity(osname: record.osname, checksum: record.checksum, serial: record.serial) : nil
        }
        let snap: DeploymentSnapshot
        do {
            snap = try await env.source.snapshot(knownBooted: knownBooted ?? remembered)
        } catch {
            setDoubt(.deployments, "cannot read the deployments: \(error)")
            return
        }
        guard let booted = snap.booted else {
            setDoubt(.deployments, "no booted deployment found in \(env.source.sysroot) (no ostree= in \(env.source.cmdline)?)")
            snapshot = snap
            return
        }
        snapshot = snap
        let wasStarted = assessment.boot != nil
        if doubts.removeValue(forKey: .deployments) != nil { applyPolicy() }
        let identity = BootedIdentity(booted)
        let boot = Assessment.Boot(
            bootID: bootID, booted: Self.release(booted), rollback: snap.rollback.map(Self.release),
            defaultChecksum: snap.deployments.first { !$0.isStaged }?.checksum, hasStaged: snap.staged != nil)
        if wasStarted {
            await feed(.deploymentsRead(boot))
            return
        }
        knownBooted = identity
        driver = env.makeDriver(identity)
        assessment.rememberBootedIdentity(
            BootedIdentityRecord(bootID: bootID, osname: identity.osname, checksum: identity.checksum, serial: identity.serial))
        applyPolicy()
        logger.info("assessing boot", metadata: [
            "boot_id": "\(bootID)", "booted": "\(booted.checksum)", "version": "\(booted.version ?? "-")",
            "rollback": "\(snap.rollback?.checksum ?? "none")", "staged": "\(snap.staged != nil)",
        ])
        await feed(.started(boot, at: env.now()))
        if !initial { await assess() }
    }

    private static func release(_ d: DeploymentInfo) -> Assessment.Release {
        Assessment.Release(checksum: d.checksum, version: d.version, origin: d.origin)
    }

    private func setDoubt(_ doubt: Doubt, _ reason: String) {
        if doubts[doubt] != reason { logger.error("observing only: \(reason)") }
        doubts[doubt] = reason
        applyPolicy()
    }

    private func applyPolicy() {
        let policy = Self.policy(env.settings, override: assessment.memory.modeOverride, enforcing: doubts.isEmpty)
        if policy != assessment.policy { _ = assessment.handle(.policyChanged(policy)) }
    }

    // MARK: checks

    private func checkLoop(_ spec: CheckSpec) async {
        while !Task.isCancelled {
            let result = await env.engine.run(spec)
            if Task.isCancelled { return }  // a result of a cut-short round is not evidence
            await record(result)
            try? await Task.sleep(for: spec.interval)
        }
    }

    private func watchUnits(_ unitSpecs: [CheckSpec], bus: Bus) async {
        let names = unitSpecs.compactMap { spec -> String? in if case .unit(let n) = spec.target { n } else { nil } }
        let inspector = SystemdUnitInspector(bus: bus, logger: logger)
        do {
            for try await state in inspector.watchUnits(names) {
                await env.engine.flapMonitor.observe(state)
                // A change re-runs that unit's checks now instead of at their next interval.
                for spec in unitSpecs {
                    if case .unit(let n) = spec.target, n == state.unit {
                        await record(await env.engine.run(spec))
                    }
                }
            }
        } catch {
            logger.warning("unit watch ended; unit checks continue on their intervals", metadata: ["error": "\(error)"])
        }
    }

    private func refreshLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(30))
            if Task.isCancelled { return }
            await readBoot(initial: false)
        }
    }

    private func record(_ result: CheckResult) async {
        trackers[result.name]?.record(result, sinceBoot: Self.uptime())
        var history = histories[result.name] ?? []
        history.insert(result, at: 0)
        if history.count > Self.historyLimit { history.removeLast(history.count - Self.historyLimit) }
        histories[result.name] = history
        await assess()
    }

    /// Time since the kernel booted (CLOCK_BOOTTIME counts suspend too): what `start_period` is measured from.
    static func uptime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    /// The required checks' combined verdict after thresholds; unknown never counts as a pass.
    func verdict() -> Assessment.Verdict {
        var failing: [String] = []
        var units: [String] = []
        var unknown: [String] = []
        let required = specs.filter(\.required)
        for spec in required {
            guard let tracker = trackers[spec.name] else { continue }
            switch tracker.health {
            case .failing:
                let message = tracker.last?.message ?? "failed"
                failing.append("\(spec.name) failed \(tracker.consecutiveFailures)/\(tracker.failureThreshold): \(message)")
                if let unit = spec.restartUnit, !units.contains(unit) { units.append(unit) }
            case .unknown:
                unknown.append(tracker.last == nil ? "\(spec.name) has no result yet" : "\(spec.name) is not decided yet")
            case .passing:
                break
            }
        }
        if !failing.isEmpty { return .failing(reasons: failing, restartUnits: units) }
        if required.isEmpty { return .unknown(reasons: ["no required checks are configured"]) }
        if !unknown.isEmpty { return .unknown(reasons: unknown) }
        return .passing
    }

    private func assess() async {
        guard assessment.boot != nil else { return }
        var verdict = verdict()
        if case .failing = verdict, [.probation, .failing].contains(assessment.state) {
            // A rollback decision must see the deployments as they are now (an update may have been staged),
            // and the checks as they are after that read (a pass may have come in meanwhile).
            await readBoot(initial: false)
            verdict = self.verdict()
        }
        if Self.kind(verdict) != lastVerdict.map(Self.kind) {
            logger.info("required checks: \(Self.describe(verdict))")
        }
        lastVerdict = verdict
        await feed(.checks(verdict, at: env.now()))
    }

    /// The verdict without its counts: what changes are logged on.
    private static func kind(_ verdict: Assessment.Verdict) -> String {
        switch verdict {
        case .passing: "passing"
        case .failing(let reasons, _): "failing " + reasons.map { $0.prefix { $0 != " " } }.joined(separator: ",")
        case .unknown(let reasons): "unknown " + reasons.map { $0.prefix { $0 != " " } }.joined(separator: ",")
        }
    }

    private static func describe(_ verdict: Assessment.Verdict) -> String {
        switch verdict {
        case .passing: "passing"
        case .failing(let reasons, _): "failing (\(reasons.joined(separator: "; ")))"
        case .unknown(let reasons): "unknown (\(reasons.joined(separator: "; ")))"
        }
    }

    // MARK: acting

    private func feed(_ event: Assessment.Event) async {
        let before = assessment
        let actions = assessment.handle(event)
        if await perform(actions) == .notPersisted {
            // Nothing of this decision reached the disk: forget it too, so it is taken again, whole, once the state
            // can be written, and never half-remembered by a later write.
            assessment = before
        }
    }

    private enum Outcome { case done, notPersisted, stopped }

    /// Performs actions in order; a failed `persist` stops the rest (nothing is done that memory does not explain).
    @discardableResult
    private func perform(_ actions: [Assessment.Action]) async -> Outcome {
        let decidesRollback = actions.contains { if case .rollback = $0 { true } else { false } }
        var persisted = false
        for action in actions {
            switch action {
            case .persist:
                if decidesRollback && !persisted { Failpoint.beforeIntent.reach(logger) }
                guard persist() else { return persisted ? .stopped : .notPersisted }
                if decidesRollback && !persisted { Failpoint.afterIntent.reach(logger) }
                persisted = true
            case .announce(let decision):
                JournalEvents.log(decision, to: logger)
            case .assertHold:
                // A later decision (an admin's release) may have landed while this batch waited.
                if assessment.memory.updatesHeld { await assertHold() }
            case .removeHold:
                if !assessment.memory.updatesHeld { await removeHold() }
            case .clearStaged:
                guard let driver else {
                    await feed(.rollbackFailed("no rollback driver", at: env.now()))
                    return .stopped
                }
                do {
                    try await driver.clearStaged()
                } catch {
                    await feed(.rollbackFailed("cannot clear the staged deployment: \(error)", at: env.now()))
                    return .stopped
                }
            case .rollback(let from, let to):
                guard let driver else {
                    await feed(.rollbackFailed("no rollback driver", at: env.now()))
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
                    if await sysrootBootsFirst(to.checksum, waitingUpTo: certain ? .zero : settle) {
                        logger.warning("the rollback reported an error but the sysroot boots the target first", metadata: ["error": "\(error)"])
                    } else {
                        await feed(.rollbackFailed("\(error)", at: env.now()))
                        return .stopped
                    }
                }
                Failpoint.afterTransaction.reach(logger)
                // Status shows the new boot order (the target pending) while the reboot is under way.
                if let snap = try? await env.source.snapshot(knownBooted: knownBooted) { snapshot = snap }
                await feed(.rollbackApplied(at: env.now()))
                return .stopped
            case .reboot(let reason):
                Failpoint.beforeReboot.reach(logger)
                await reboot(reason)
            case .restartUnits(let units):
                await restart(units)
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
    private func sysrootBootsFirst(_ checksum: String, waitingUpTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            if let snap = try? await env.source.snapshot(knownBooted: knownBooted),
               snap.deployments.first(where: { !$0.isStaged })?.checksum == checksum {
                return true
            }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func persist() -> Bool {
        guard mayPersist else { return true }
        do {
            try env.store.saveNow(assessment.memory)
            if doubts.removeValue(forKey: .stateWrite) != nil { applyPolicy() }
            return true
        } catch {
            setDoubt(.stateWrite, "cannot write the state file: \(error)")
            return false
        }
    }

    private func assertHold() async {
        let wasAsserted = env.hold.isAsserted
        do {
            try env.hold.assert()
        } catch {
            logger.error("cannot write the Zincati hold", metadata: ["path": "\(env.hold.path)", "error": "\(error)"])
            return
        }
        // Zincati reads its config only at start: restart it if it already runs without the hold.
        if !wasAsserted { await restartZincatiIfActive() }
    }

    private func removeHold() async {
        do {
            try env.hold.release()
        } catch {
            logger.error("cannot remove the Zincati hold", metadata: ["path": "\(env.hold.path)", "error": "\(error)"])
            return
        }
        await restartZincatiIfActive()
    }

    private func restartZincatiIfActive() async {
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

    private func reboot(_ reason: String) async {
        guard let bus = env.bus else {
            logger.error("cannot reboot: no system bus; the rollback applies at the next boot")
            return
        }
        logger.warning("rebooting: \(reason)")
        do {
            let path = try await bus.reboot()
            logger.notice("reboot requested", metadata: ["via": "\(path)"])
        } catch {
            logger.error("reboot request failed; the rollback applies at the next boot", metadata: ["error": "\(error)"])
        }
    }

    private func restart(_ units: [String]) async {
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

    // MARK: AgentEndpoint

    /// The status document (from memory: no disk or bus reads).
    public func status() async -> StatusDocument {
        let memory = assessment.memory
        let mode = memory.modeOverride ?? env.settings.assessment.mode
        let observeReason = doubts.isEmpty ? nil : doubts.sorted { $0.key < $1.key }.map(\.value).joined(separator: "; ")
        let reason: String? = assessment.boot == nil
            ? (observeReason ?? "starting") : memory.current?.reason
        return StatusDocument(
            state: assessment.state, reason: reason, mode: mode.rawValue, observeOnlyReason: observeReason,
            deployments: snapshot?.deployments ?? [], checks: checkDocuments(), lastDecision: memory.lastDecision,
            badReleases: memory.badReleases, knownGood: memory.knownGood, updatesHeld: memory.updatesHeld,
            rollbacksTotal: memory.rollbacks.count, rebootsTotal: memory.rebootTimes.count, version: env.version,
            startedAt: startedAt, bootId: bootID, configDir: env.configDescription)
    }

    private func checkDocuments() -> [CheckDocument] {
        specs.map { spec in
            let tracker = trackers[spec.name]
            return CheckDocument(
                name: spec.name, kind: spec.kind, required: spec.required, state: tracker?.health ?? .unknown,
                last: tracker?.last, history: histories[spec.name] ?? [])
        }
    }

    /// The checks.
    public func checks() async -> ChecksDocument { ChecksDocument(checks: checkDocuments()) }

    /// Boots and decisions, newest first.
    public func history() async -> HistoryDocument {
        HistoryDocument(boots: assessment.memory.boots.reversed(), decisions: assessment.memory.decisions.reversed())
    }

    /// The deployments, read again now.
    public func deployments() async throws(AgentRequestError) -> DeploymentsDocument {
        do {
            let snap = try await env.source.snapshot(knownBooted: knownBooted)
            snapshot = snap
            return DeploymentsDocument(snap)
        } catch {
            throw AgentRequestError(.unavailable, "cannot read the deployments: \(error)")
        }
    }

    /// What the agent would do now, and why.
    public func explain() async -> ExplainDocument {
        let memory = assessment.memory
        var because: [String] = []
        let mode = memory.modeOverride ?? env.settings.assessment.mode
        because.append("mode is \(mode.rawValue)\(memory.modeOverride != nil ? " (set with rearguard mode)" : " (from the config)")")
        for (_, reason) in doubts.sorted(by: { $0.key < $1.key }) { because.append("observing only: \(reason)") }
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
        let used = memory.reboots(since: env.now().addingTimeInterval(-86_400))
        because.append("reboots by rearguard in the last 24 h: \(used) of \(assessment.policy.maxRebootsPerDay)")
        if memory.updatesHeld { because.append("Zincati is held (\(env.hold.path))") }
        let verdict = verdict()
        because.append("required checks: \(Self.describe(verdict))")
        let next: String
        switch assessment.state {
        case .firstBoot, .probation:
            switch verdict {
            case .passing:
                let since = assessment.passingSince ?? env.now()
                let left = max(0, assessment.policy.soak - env.now().timeIntervalSince(since))
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

    /// Runs every check now and returns their documents.
    public func runChecks() async throws(AgentRequestError) -> ChecksDocument {
        let results = await env.engine.runOnce(specs)
        for result in results { await record(result) }
        return ChecksDocument(checks: checkDocuments())
    }

    /// Holds Zincati.
    public func hold() async throws(AgentRequestError) -> StatusDocument {
        try requireWritableState("hold updates")
        guard assessment.boot != nil else { throw AgentRequestError(.unavailable, "the booted deployment is not known yet") }
        await feed(.holdRequested(at: env.now()))
        return await status()
    }

    /// Lifts the hold and ends a quarantine or rolled-back state.
    public func release() async throws(AgentRequestError) -> StatusDocument {
        try requireWritableState("release")
        guard assessment.boot != nil else { throw AgentRequestError(.unavailable, "the booted deployment is not known yet") }
        await feed(.releaseRequested(at: env.now()))
        return await status()
    }

    /// Switches between enforce and observe; kept in the state.
    public func setMode(_ mode: AssessmentMode) async throws(AgentRequestError) -> StatusDocument {
        try requireWritableState("change the mode")
        assessment.rememberMode(mode)
        applyPolicy()
        guard persist() else { throw AgentRequestError(.internal, doubts[.stateWrite] ?? "cannot write the state file") }
        logger.notice("mode set to \(mode.rawValue) by an admin")
        return await status()
    }

    private func requireWritableState(_ what: String) throws(AgentRequestError) {
        if !mayPersist || doubts[.state] != nil {
            throw AgentRequestError(
                .conflict, "cannot \(what): \(doubts[.state] ?? doubts[.bootID] ?? "the state file cannot be written"); fix or remove the state file and restart")
        }
    }
}
