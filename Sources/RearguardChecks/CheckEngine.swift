import FoundationEssentials
import Logging
import RearguardCore

/// Runs checks concurrently, each under its own deadline, and turns every outcome into a
/// `CheckResult`; nothing throws out of it and one hung target never delays another (STYLE K4).
public struct CheckEngine: Sendable {
    /// The port to systemd for unit checks; nil: unit checks fail with "no unit inspector".
    public let unitInspector: (any UnitInspector)?
    /// Restarts seen by unit checks (and by the daemon's watch, if it feeds this monitor).
    public let flapMonitor: UnitFlapMonitor
    /// Slack after a check's own deadline before the engine stops waiting for it.
    public let grace: Duration
    let logger: Logger

    /// An engine; pass the sd-bus inspector to make unit checks real.
    public init(
        unitInspector: (any UnitInspector)?, flapMonitor: UnitFlapMonitor = UnitFlapMonitor(),
        grace: Duration = .milliseconds(20), logger: Logger = Logger(label: "rearguard.checks")
    ) {
        self.unitInspector = unitInspector
        self.flapMonitor = flapMonitor
        self.grace = grace
        self.logger = logger
    }

    /// The probe for one spec.
    public func healthCheck(for spec: CheckSpec) -> any HealthCheck {
        switch spec.target {
        case .dns(let t): DNSCheck(target: t)
        case .ntp(let t): NTPCheck(target: t)
        case .dhcp(let t): DHCPCheck(target: t)
        case .tcp(let a): TCPCheck(address: a)
        case .http(let t): HTTPCheck(target: t)
        case .unit(let name): UnitCheck(unit: name, interval: spec.interval, inspector: unitInspector, monitor: flapMonitor)
        case .command(let argv): ExecCheck(command: argv)
        }
    }

    /// Runs every check once, all at the same time; results come back in the order of `specs`.
    public func runOnce(_ specs: [CheckSpec]) async -> [CheckResult] {
        await withTaskGroup(of: (Int, CheckResult).self) { group in
            for (index, spec) in specs.enumerated() {
                group.addTask { (index, await run(spec)) }
            }
            var results = [CheckResult?](repeating: nil, count: specs.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    /// Runs one check under its deadline (`timeout`); a probe that overruns is abandoned as "timeout".
    public func run(_ spec: CheckSpec) async -> CheckResult {
        await run(spec, check: healthCheck(for: spec))
    }

    /// Runs `check` under `spec`'s deadline and names the result after `spec`.
    func run(_ spec: CheckSpec, check: any HealthCheck) async -> CheckResult {
        let start = ContinuousClock.now
        let deadline = start.advanced(by: spec.timeout)
        let overrun = check.overrun
        let limit = deadline.advanced(by: grace)
        let slot = ProbeSlot()
        let outcome = await withTaskGroup(of: ProbeOutcome?.self) { group in
            group.addTask {
                let outcome = await ProbeSlot.$current.withValue(slot) { await check.probe(until: deadline) }
                slot.offer(outcome)
                return outcome
            }
            group.addTask {
                try? await Task.sleep(until: limit, clock: .continuous)
                return nil
            }
            _ = await group.next()
            group.cancelAll()
            // Whichever task came back first, the slot says whether the probe had its answer by the limit: a result
            // and its deadline arriving together on a busy pool keep the result.
            return slot.outcome(readyBy: limit) ?? overrun
        }
        // A round cut short by cancellation (shutdown) learned nothing about the service.
        let seen = Task.isCancelled ? ProbeOutcome.unknown("cancelled") : outcome
        let result = CheckResult(
            name: spec.name, kind: spec.kind, required: spec.required, status: seen.status,
            latencyMs: elapsedMs(since: start), message: seen.message, observedAt: Date())
        switch result.status {
        case .pass: logger.debug("check passed", metadata: ["check": "\(spec.name)", "message": "\(result.message)"])
        case .fail: logger.warning("check failed", metadata: ["check": "\(spec.name)", "message": "\(result.message)"])
        case .unknown: logger.notice("check undecided", metadata: ["check": "\(spec.name)", "message": "\(result.message)"])
        }
        return result
    }
}
