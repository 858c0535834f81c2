import Foundation
import Posix
import Synchronization
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
        let pool = ShuffledExecutor.shared
        var outcomes: [String] = []
        for _ in 0..<15 {
            let outcome = await withTaskExecutorPreference(pool) {
                let started = ContinuousClock.now
                // The answer comes 100 ms before the deadline (room for a late thread wake-up on loaded cores); from
                // 20 ms before the answer the engine's thread is busy for 180 ms: the answer, the deadline and the
                // grace all pass while none of the engine's tasks can run, and then they run in any order.
                async let result = engine.run(spec, check: AnswersAtTheDeadline(margin: .milliseconds(100)))
                try? await Task.sleep(until: started.advanced(by: .milliseconds(80)), clock: .continuous)
                pool.block(for: .milliseconds(180))
                return await result.message
            }
            outcomes.append(outcome)
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
