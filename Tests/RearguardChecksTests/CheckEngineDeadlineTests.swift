import Foundation
import Testing
@testable import RearguardChecks
import RearguardCore

/// Answers on its own thread `margin` before its deadline.
private struct AnswersAtTheDeadline: HealthCheck {
    let margin: Duration

    func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let answerAt = deadline.advanced(by: .zero - margin)
        return await DedicatedThread.run(name: "edge", cancelled: .fail("cancelled")) {
            let wait = ContinuousClock.now.duration(to: answerAt)
            if wait > .zero { _ = usleep(UInt32(wait.components.seconds * 1_000_000 + wait.components.attoseconds / 1_000_000_000_000)) }
            return .pass("answered")
        }
    }
}

@Suite(.serialized) struct CheckEngineDeadlineTests {
    /// The earlier engine took whichever of the probe's task and the deadline timer the pool ran first: with every
    /// pool thread busy when both became ready, the timer could win over an answer that came in time.
    @Test func aResultReadyByTheDeadlineIsKeptWhenThePoolIsBusy() async throws {
        let engine = CheckEngine(unitInspector: nil)
        let spec = CheckSpec(name: "edge", target: .tcp(address: HostPort(host: "127.0.0.1", port: 9)), timeout: .milliseconds(200))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var outcomes: [String] = []
        for _ in 0..<15 {
            let started = ContinuousClock.now
            // The answer comes 60 ms before the deadline (room for a late thread wake-up when other suites load the
            // cores); from 20 ms before it every pool thread blocks for 180 ms: the answer, the deadline and the
            // grace all pass while nothing on the pool can run.
            async let result = engine.run(spec, check: AnswersAtTheDeadline(margin: .milliseconds(60)))
            try await Task.sleep(until: started.advanced(by: .milliseconds(120)), clock: .continuous)
            let blockers = (0..<cores).map { _ in Task.detached { _ = usleep(180_000) } }
            for blocker in blockers { await blocker.value }
            outcomes.append(await result.message)
        }
        #expect(outcomes.allSatisfy { $0 == "answered" }, "\(outcomes)")
    }

    @Test func aResultAfterTheDeadlineIsATimeout() async {
        let engine = CheckEngine(unitInspector: nil)
        let spec = CheckSpec(name: "late", target: .tcp(address: HostPort(host: "127.0.0.1", port: 9)), timeout: .milliseconds(100))
        let r = await engine.run(spec, check: AnswersAtTheDeadline(margin: .milliseconds(-200)))
        #expect(r.status == .fail && r.message == "timeout", "\(r.message)")
        #expect(r.latencyMs < 250, "the engine does not wait for a late probe")
    }
}
