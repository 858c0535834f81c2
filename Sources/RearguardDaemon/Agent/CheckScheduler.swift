import DBus
import Logging
import RearguardCore
import ServiceLifecycle

/// The agent's long-running loops, as one `Service`: it starts the agent (reads the boot), then runs every check on its
/// interval, re-runs unit checks on each change systemd signals (the unit watch), and re-reads the deployments every
/// 30 s. It owns no state: each result is handed to the `Agent`, which decides.
public struct CheckScheduler: Service {
    /// The agent the results go to.
    public let agent: Agent
    private let startWhen: (@Sendable () async -> Bool)?

    /// Creates the scheduler of `agent`'s checks; it starts the agent once `startWhen` returns true (e.g. once the
    /// API socket is bound, so that an agent that cannot have the socket never acts), and never when it returns false.
    public init(agent: Agent, startWhen: (@Sendable () async -> Bool)? = nil) {
        self.agent = agent
        self.startWhen = startWhen
    }

    /// Runs until cancelled or a graceful shutdown: start, then the check loops, the unit watch and the refresher.
    public func run() async throws {
        if let startWhen, !(await startWhen()) { return }
        await agent.start()
        let specs = agent.specs
        let bus = agent.env.bus
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for spec in specs {
                    group.addTask { await checkLoop(spec) }
                }
                let unitSpecs = specs.filter { if case .unit = $0.target { true } else { false } }
                if let bus, !unitSpecs.isEmpty {
                    group.addTask { await watchUnits(unitSpecs, bus: bus) }
                }
                group.addTask { await refreshLoop() }
                await group.waitForAll()
            }
        }
        // A node going down may have just staged an update (Zincati reboots right after staging): read it once more,
        // so the next boot can tell whether its finalization worked.
        await agent.refreshBoot()
    }

    private func checkLoop(_ spec: CheckSpec) async {
        while !Task.isCancelled {
            let result = await agent.env.engine.run(spec)
            if Task.isCancelled { return }  // a result of a cut-short round is not evidence
            await agent.record(result)
            try? await Task.sleep(for: spec.interval)
        }
    }

    private func watchUnits(_ unitSpecs: [CheckSpec], bus: Bus) async {
        let names = unitSpecs.compactMap { spec -> String? in if case .unit(let n) = spec.target { n } else { nil } }
        let inspector = SystemdUnitInspector(bus: bus, logger: agent.logger)
        do {
            for try await state in inspector.watchUnits(names) {
                await agent.env.engine.flapMonitor.observe(state)
                // A change re-runs that unit's checks now instead of at their next interval.
                for spec in unitSpecs {
                    if case .unit(let n) = spec.target, n == state.unit {
                        await agent.record(await agent.env.engine.run(spec))
                    }
                }
            }
        } catch {
            agent.logger.warning("unit watch ended; unit checks continue on their intervals", metadata: ["error": "\(error)"])
        }
    }

    private func refreshLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(30))
            if Task.isCancelled { return }
            await agent.refreshBoot()
        }
    }
}
