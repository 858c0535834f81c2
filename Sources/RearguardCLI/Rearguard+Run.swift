import ArgumentParser
import DBus
import FoundationEssentials
import Logging
import RearguardAPI
import RearguardChecks
import RearguardCore
import RearguardDaemon
import ServiceLifecycle
import Synchronization
import Systemd

extension Rearguard {
    /// `rearguard run`: the long-running agent.
    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Run the agent: assess this boot, run the checks, roll back a bad update once, serve status.",
            discussion: """
                Reads the config once at start; a config with errors is refused as a whole (exit 78). Refuses to start \
                (exit 75) while another agent holds the state folder. \
                Stops gracefully on SIGTERM and SIGINT. Sends READY=1 once the socket serves and the boot is read.
                """)

        @OptionGroup var config: ConfigOptions

        @Flag(help: "Log debug messages.")
        var verbose = false

        public init() {}

        public func run() async throws {
            let directories = config.directories
            let settings = try config.load(exitingWith: ExitCode(78), preface: "rearguard: refusing to start with this config:")  // EX_CONFIG
            LoggingSystem.bootstrap { label in
                var handler = JournalLogHandler.standard(label: label)
                handler.logLevel = .info
                return handler
            }
            var logger = Logger(label: "rearguard")
            if verbose { logger.logLevel = .debug }

            // One agent per state folder: a second one refuses here, before it reads the memory or touches the socket.
            let lock: StateLock
            do {
                lock = try StateLock(stateDirectory: settings.host.stateDir)
            } catch {
                Output.diagnostic("\(error)")
                throw ExitCode(75)  // EX_TEMPFAIL: systemd may try again once the other agent is gone
            }
            var environment = try Self.environment(settings: settings, directories: directories, logger: logger)
            environment.fleet = Self.fleet(settings.fleet, logger: logger)
            let agent = Agent(environment: environment, logger: logger)
            if let fleet = environment.fleet {
                await fleet.setRebooter { reason in await agent.rebootWithSlot(reason) }
            }
            let endpoint = AgentAPI(agent: agent)
            let gate = ReadyGate(logger: logger)
            let api = APIServer(
                socketPath: settings.api.socket, group: settings.api.group, endpoint: endpoint, logger: logger,
                onReady: { Task { await gate.serving() } })
            let ready = ReadyService(agent: agent, gate: gate)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [
                        .init(service: CheckScheduler(agent: agent, startWhen: { await gate.untilServing() })),
                        .init(service: api),
                        .init(service: ready, successTerminationBehavior: .ignore),
                        .init(service: WatchdogService(configured: settings.daemon.watchdog, logger: logger)),
                    ] + (environment.fleet.map { [.init(service: $0)] } ?? [])
                        + (settings.metrics.listen.map {
                            [.init(service: MetricsServer(host: $0.host, port: Int($0.port), endpoint: endpoint, logger: logger))]
                        } ?? []),
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            defer { withExtendedLifetime(lock) {} }
            try await group.run()
        }

        /// FleetLock as `[fleet]` says, its unset keys taken from Zincati's own drop-ins; nil when the strategy is not
        /// `fleet_lock`. A fleet that cannot be used (no base URL, no machine id) still gets a coordinator: its every
        /// call fails, so reboots wait and say why, and the checks go on.
        static func fleet(_ settings: FleetSettings, logger: Logger) -> FleetCoordinator? {
            let zincati = ZincatiConfig.read(directories: settings.zincatiConfigDirs)
            let strategy = settings.strategy ?? (zincati.strategy == FleetStrategy.fleetLock.rawValue ? .fleetLock : FleetStrategy.none)
            guard strategy == .fleetLock else { return nil }
            var id: String?
            var problem: String?
            do {
                id = try MachineID.appSpecific(ZincatiConfig.appID)
            } catch {
                problem = "cannot derive the node id from /etc/machine-id: \(error)"
            }
            let client = FleetLockClient(
                baseURL: settings.baseURL ?? zincati.baseURL, id: id, group: settings.group ?? zincati.group ?? "default",
                problem: problem)
            logger.info("fleet lock", metadata: [
                "server": "\(client.baseURL)", "group": "\(client.group)", "node_id": "\(client.id)",
                "problem": "\(client.problem ?? "-")",
            ])
            return FleetCoordinator(client: client, backoff: (.seconds(1), settings.retryMax), logger: logger)
        }

        /// Builds the agent's surroundings from the settings; every path comes from the config.
        static func environment(settings: Settings, directories: [String], logger: Logger) throws -> Agent.Environment {
            let host = settings.host
            let busAddress = ProcessInfo.processInfo.environment["DBUS_SYSTEM_BUS_ADDRESS"] ?? host.bus
            let bus = Bus(address: busAddress, logger: logger)
            let source = OSTreeDeploymentSource(sysroot: host.sysroot, cmdline: host.cmdline, run: host.hostRun)
            let store = FileStateStore(stateDirectory: host.stateDir)
            let engine = CheckEngine(unitInspector: SystemdUnitInspector(bus: bus, logger: logger), logger: logger)
            let rollback = settings.rollback
            let makeDriver: @Sendable (BootedIdentity?) -> any RollbackDriver = { booted in
                switch rollback.driver {
                case .ostree:
                    return OSTreeRollbackDriver(source: source, knownBooted: booted)
                case .rpmOstree:
                    return RpmOstreeRollbackDriver(
                        busAddress: busAddress, hostRun: host.hostRun, transactionTimeout: rollback.transactionTimeout,
                        source: source, knownBooted: booted, logger: logger)
                }
            }
            return Agent.Environment(
                settings: settings, configDescription: directories.joined(separator: ", "), version: RearguardVersion.current,
                store: store, source: source, bus: bus, engine: engine, makeDriver: makeDriver,
                hold: ZincatiHold(directory: host.zincatiConfigDir))
        }
    }
}

/// Sends READY=1 once both the socket serves and the boot was read (the agent keeps running after).
actor ReadyGate {
    private var isServing = false
    private var isBootRead = false
    private var sent = false
    private let logger: Logger
    /// Opens once the socket serves: nothing is read or decided before this agent owns the socket (a second agent
    /// on the same socket fails there and never acts).
    nonisolated let servingSignal = ServingSignal()

    init(logger: Logger) { self.logger = logger }

    func serving() {
        isServing = true
        servingSignal.open()
        notifyIfReady()
    }

    /// Waits until the socket serves; false when cancelled first.
    nonisolated func untilServing() async -> Bool { await servingSignal.wait() }

    func bootRead() { isBootRead = true; notifyIfReady() }

    private func notifyIfReady() {
        guard isServing, isBootRead, !sent else { return }
        sent = true
        do {
            if try Notifier().ready() { logger.debug("sent READY=1") }
        } catch {
            logger.warning("cannot notify systemd", metadata: ["error": "\(error)"])
        }
    }
}

/// Starts the agent's boot reading and opens the ready gate's second half, then finishes.
struct ReadyService: Service {
    let agent: Agent
    let gate: ReadyGate

    func run() async throws {
        guard await gate.untilServing() else { return }
        await agent.start()
        await gate.bootRead()
    }
}

/// A one-way gate: `wait()` returns true once `open()` was called, or false when the waiting task is cancelled first.
final class ServingSignal: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var next = 0
    }
    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { s in
            s.isOpen = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func wait() async -> Bool {
        let id = state.withLock { s in
            s.next += 1
            return s.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
                let now: Bool? = state.withLock { s in
                    if s.isOpen { return true }
                    if Task.isCancelled { return false }
                    s.waiters[id] = waiter
                    return nil
                }
                if let now { waiter.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }
}
