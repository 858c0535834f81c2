import DBus
import FoundationEssentials
import Glibc
import Logging
import RearguardAPI
import RearguardChecks
import RearguardCore
import Systemd

/// The running agent (`rearguard run`) and the one owner of its state: it reads the boot, takes in the check results
/// (from the `CheckScheduler`), feeds the pure `Assessment` (the only place decisions are made) and hands the actions
/// it returns to the `Actuator`, which performs them on this actor's executor. The API reads it through `AgentAPI`.
/// When it cannot tell (untrustworthy state, unreadable boot id or deployments) it observes and reports, never acts.
public actor Agent {
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
        /// FleetLock, when `[fleet]` (or Zincati's config) says `fleet_lock`; nil: reboots need no slot.
        public var fleet: FleetCoordinator?
        /// The clock decisions are timed with: by default the wall time at start advanced by a monotonic clock, so a
        /// clock step (NTP's makestep at boot) neither shortens a soak nor stretches it.
        public var now: @Sendable () -> Date

        /// Creates an environment.
        public init(
            settings: Settings, configDescription: String, version: String, store: FileStateStore,
            source: OSTreeDeploymentSource, bus: Bus?, engine: CheckEngine,
            makeDriver: @escaping @Sendable (BootedIdentity?) -> any RollbackDriver, hold: ZincatiHold,
            fleet: FleetCoordinator? = nil, now: @escaping @Sendable () -> Date = Agent.monotonicWallClock()
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
            self.fleet = fleet
            self.now = now
        }
    }

    /// Why the agent only observes, by source; empty when it may act.
    enum Doubt: String, Comparable {
        case state, bootID = "boot-id", deployments, stateWrite = "state-write"
        static func < (a: Doubt, b: Doubt) -> Bool { a.rawValue < b.rawValue }
    }

    /// The surroundings, fixed for the agent's life.
    nonisolated let env: Environment
    nonisolated let logger: Logger
    /// The checks run: the config's, plus greenboot's when enabled.
    nonisolated let specs: [CheckSpec]
    nonisolated let startedAt: Date
    let actuator: Actuator
    var assessment: Assessment
    var doubts: [Doubt: String] = [:]
    /// False when the state file must not be written (newer schema, unreadable boot id).
    private var mayPersist = true
    private var bootID: String?
    var snapshot: DeploymentSnapshot?
    private(set) var knownBooted: BootedIdentity?
    private(set) var driver: (any RollbackDriver)?
    private var trackers: [String: CheckTracker] = [:]
    private var histories: [String: [CheckResult]] = [:]
    private var lastVerdict: Assessment.Verdict?
    private var startTask: Task<Void, Never>?
    /// The logind `block` shutdown inhibitor held while the node is degraded or in probation (Agent+Inhibitor.swift).
    var inhibitor: Inhibitor?
    var inhibitorReason: String?
    var isSyncingInhibitor = false
    var inhibitorRetryAfter: ContinuousClock.Instant?

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
        actuator = Actuator(environment: environment, logger: logger)
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
            let id = text.trimmed
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

    /// Reads the deployments again (the scheduler's refresher); a first successful read starts the assessment.
    func refreshBoot() async { await readBoot(initial: false) }

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
            defaultChecksum: snap.deployments.first { !$0.isStaged }?.checksum, hasStaged: snap.staged != nil,
            staged: snap.staged.map(Self.release))
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

    func setDoubt(_ doubt: Doubt, _ reason: String) {
        if doubts[doubt] != reason { logger.error("observing only: \(reason)") }
        doubts[doubt] = reason
        applyPolicy()
    }

    func applyPolicy() {
        let policy = Self.policy(env.settings, override: assessment.memory.modeOverride, enforcing: doubts.isEmpty)
        if policy != assessment.policy { _ = assessment.handle(.policyChanged(policy)) }
    }

    // MARK: check results

    /// Takes in one result (from a check loop, the unit watch or a recheck) and assesses.
    func record(_ result: CheckResult) async {
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

    /// The verdict as last assessed (it changes only when a result is recorded, which assesses); computed only before
    /// the first assessment. Status requests and every fed event read it, so it is not recomputed for each.
    func currentVerdict() -> Assessment.Verdict { lastVerdict ?? verdict() }

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

    static func describe(_ verdict: Assessment.Verdict) -> String {
        switch verdict {
        case .passing: "passing"
        case .failing(let reasons, _): "failing (\(reasons.joined(separator: "; ")))"
        case .unknown(let reasons): "unknown (\(reasons.joined(separator: "; ")))"
        }
    }

    // MARK: acting

    /// Feeds one event to the assessment and has its actions performed; a decision that could not be persisted is
    /// forgotten whole.
    func feed(_ event: Assessment.Event) async {
        let before = assessment
        let actions = assessment.handle(event)
        if await actuator.perform(actions, on: self) == .notPersisted {
            // Nothing of this decision reached the disk: forget it too, so it is taken again, whole, once the state
            // can be written, and never half-remembered by a later write.
            assessment = before
        }
        await syncInhibitor()
        await syncFleet()
    }

    /// Writes the memory now; false (and a doubt) when it cannot be written. Nothing is written while `mayPersist` is
    /// false.
    func persist() -> Bool {
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

    // MARK: what the API reads and asks

    /// Everything the API's documents are made from, read at once (from memory: no disk or bus reads).
    func view() -> AgentView {
        AgentView(
            assessment: assessment, doubts: doubts.sorted { $0.key < $1.key }.map(\.value),
            deployments: snapshot?.deployments ?? [], checks: checkDocuments(), verdict: currentVerdict(), bootID: bootID,
            startedAt: startedAt, now: env.now(), inhibited: inhibitorReason)
    }

    private func checkDocuments() -> [CheckDocument] {
        specs.map { spec in
            let tracker = trackers[spec.name]
            return CheckDocument(
                name: spec.name, kind: spec.kind, required: spec.required, state: tracker?.health ?? .unknown,
                last: tracker?.last, history: histories[spec.name] ?? [])
        }
    }

    /// The deployments, read again now.
    func readDeployments() async throws(AgentRequestError) -> DeploymentSnapshot {
        do {
            let snap = try await env.source.snapshot(knownBooted: knownBooted)
            snapshot = snap
            return snap
        } catch {
            throw AgentRequestError(.unavailable, "cannot read the deployments: \(error)")
        }
    }

    /// Runs every check now and takes in the results.
    func runChecks() async -> AgentView {
        let results = await env.engine.runOnce(specs)
        for result in results { await record(result) }
        return view()
    }

    /// Holds Zincati.
    func hold() async throws(AgentRequestError) -> AgentView {
        try requireWritableState("hold updates")
        guard assessment.boot != nil else { throw AgentRequestError(.unavailable, "the booted deployment is not known yet") }
        await feed(.holdRequested(at: env.now()))
        return view()
    }

    /// Lifts the hold and ends a quarantine or rolled-back state.
    func release() async throws(AgentRequestError) -> AgentView {
        try requireWritableState("release")
        guard assessment.boot != nil else { throw AgentRequestError(.unavailable, "the booted deployment is not known yet") }
        await feed(.releaseRequested(at: env.now()))
        return view()
    }

    /// Switches between enforce and observe; kept in the state.
    func setMode(_ mode: AssessmentMode) throws(AgentRequestError) -> AgentView {
        try requireWritableState("change the mode")
        assessment.rememberMode(mode)
        applyPolicy()
        guard persist() else { throw AgentRequestError(.internal, doubts[.stateWrite] ?? "cannot write the state file") }
        logger.notice("mode set to \(mode.rawValue) by an admin")
        return view()
    }

    private func requireWritableState(_ what: String) throws(AgentRequestError) {
        if !mayPersist || doubts[.state] != nil {
            throw AgentRequestError(
                .conflict, "cannot \(what): \(doubts[.state] ?? doubts[.bootID] ?? "the state file cannot be written"); fix or remove the state file and restart")
        }
    }
}
