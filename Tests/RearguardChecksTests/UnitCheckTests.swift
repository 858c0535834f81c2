import Foundation
import Synchronization
import Testing
import TestSupport
@testable import RearguardChecks
import RearguardCore

/// A test double at Core's `UnitInspector` port (STYLE T3): states set by the test.
final class FakeInspector: UnitInspector {
    let states = Mutex<[String: UnitState]>([:])
    let hangs: Bool
    init(hangs: Bool = false) { self.hangs = hangs }

    func set(_ unit: String, active: String = "active", sub: String = "running", restarts: UInt32 = 0, invocation: String = "a") {
        states.withLock {
            $0[unit] = UnitState(unit: unit, loadState: "loaded", activeState: active, subState: sub, result: "success",
                                 nRestarts: restarts, invocationID: invocation, changedAt: nil)
        }
    }

    func unitState(_ name: String) async throws -> UnitState {
        if hangs {
            // A bus that never answers and ignores cancellation, for 5 s.
            await withCheckedContinuation { c in DispatchQueue.global().asyncAfter(deadline: .now() + 5) { c.resume() } }
        }
        return states.withLock { $0[name] } ?? UnitState(
            unit: name, loadState: "not-found", activeState: "inactive", subState: "dead", result: "", nRestarts: 0,
            invocationID: "", changedAt: nil)
    }

    func watchUnits(_ names: [String]) -> AsyncThrowingStream<UnitState, any Error> {
        AsyncThrowingStream { c in
            for n in names { if let s = states.withLock({ $0[n] }) { c.yield(s) } }
            c.finish()
        }
    }
}

@Suite struct UnitCheckTests {
    func spec(_ unit: String, timeout: Duration = .seconds(2)) -> CheckSpec {
        CheckSpec(name: "unit", target: .unit(name: unit), timeout: timeout, interval: .seconds(10))
    }

    @Test func anActiveUnitPasses() async {
        let fake = FakeInspector()
        fake.set("dnsmasq.service")
        let r = await CheckEngine(unitInspector: fake).run(spec("dnsmasq.service"))
        #expect(r.status == .pass && r.message == "active/running")
    }

    @Test func aFailedOrMissingUnitFails() async {
        let fake = FakeInspector()
        fake.set("dnsmasq.service", active: "failed", sub: "failed")
        let engine = CheckEngine(unitInspector: fake)
        #expect(await engine.run(spec("dnsmasq.service")).message == "failed/failed")
        #expect(await engine.run(spec("nope.service")).message == "nope.service not found")
    }

    @Test func anNRestartsIncreaseWithinTheIntervalIsFlapping() async {
        let fake = FakeInspector()
        let engine = CheckEngine(unitInspector: fake)
        fake.set("flap.service", restarts: 1)
        #expect(await engine.run(spec("flap.service")).status == .pass)
        fake.set("flap.service", restarts: 2)
        let r = await engine.run(spec("flap.service"))
        #expect(r.status == .fail && r.message.contains("restarted within 10s"), "\(r.message)")
    }

    @Test func aNewInvocationIDIsFlappingAndTheWatchFeedsTheMonitor() async throws {
        let fake = FakeInspector()
        let engine = CheckEngine(unitInspector: fake)
        fake.set("x.service", invocation: "one")
        try await engine.flapMonitor.follow(fake, units: ["x.service"])
        fake.set("x.service", invocation: "two")
        let r = await engine.run(spec("x.service"))
        #expect(r.status == .fail, "\(r.message)")
    }

    @Test func withoutAnInspectorUnitChecksAreUnknownNotFailed() async {
        let r = await CheckEngine(unitInspector: nil).run(spec("dnsmasq.service"))
        #expect(r.status == .unknown && r.message.hasPrefix("no unit inspector"))
    }

    @Test func aBusThatNeverAnswersIsCutOffAtTheDeadline() async {
        let r = await CheckEngine(unitInspector: FakeInspector(hangs: true)).run(spec("x.service", timeout: .milliseconds(300)))
        #expect(r.status == .unknown && r.message.contains("did not answer in time"), "\(r.message)")
        #expect(r.latencyMs < 1000)
    }
}
