import Foundation
import Systemd
import Posix
import Testing
import TestSupport

extension GuestSystemdTests {
    @Test func watchSeesStopAndStartWithANewInvocation() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-sleep@stopstart.service"
        try await bus.startUnit(unit)
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        let (first, i) = try await log.wait("running") { EventLog.state($0, unit)?.subState == "running" }
        let before = try #require(EventLog.state(first, unit)).invocationID
        try await bus.stopUnit(unit)
        let (_, j) = try await log.wait(after: i, "inactive") { EventLog.state($0, unit)?.activeState == "inactive" }
        try await bus.startUnit(unit)
        let (again, _) = try await log.wait(after: j, "active again") { EventLog.state($0, unit)?.activeState == "active" }
        #expect(try #require(EventLog.state(again, unit)).invocationID != before)
        try await bus.stopUnit(unit)
    }

    @Test func restartThroughTheAPIShowsANewInvocationWhenActiveAgain() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-sleep@restart.service"
        try await bus.startUnit(unit)
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        let (first, i) = try await log.wait("running") { EventLog.state($0, unit)?.subState == "running" }
        let before = try #require(EventLog.state(first, unit))
        try await bus.restartUnit(unit)
        let (after, _) = try await log.wait(after: i, "active with a new invocation") {
            guard let s = EventLog.state($0, unit) else { return false }
            return s.activeState == "active" && s.invocationID != before.invocationID
        }
        let s = try #require(EventLog.state(after, unit))
        #expect(s.stateChangeTimestamp > before.stateChangeTimestamp)
        // Reading after the fact shows the same: already active, but not the same run.
        #expect(try await bus.unitStatus(unit).invocationID == s.invocationID)
        try await bus.stopUnit(unit)
    }

    @Test func idleWatchSendsNoMethodCallsOnTheBus() async throws {
        _ = try await TestGuest.bus()
        let unit = "agent-ok.service"
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        let (connected, _) = try await log.wait("connected") { if case .connected = $0 { return true } else { return false } }
        guard case .connected(let name) = connected else { return }
        _ = try await log.wait("initial state") { EventLog.state($0, unit) != nil }
        // busctl monitor sees every message on the guest's bus for 3 s while nothing changes;
        // a canary call from another connection proves the monitor was listening.
        let monitor = try Spawn.start(["busctl", "--address=\(TestGuest.address)", "monitor", "--json=short"], stderr: .null)
        async let seen = Spawn.finished(monitor, until: .now + .seconds(30))  // its output, once it is killed (30 s at most)
        try await Task.sleep(for: .seconds(1))
        try await TestGuest.run(["busctl", "--address=\(TestGuest.address)", "get-property", "org.freedesktop.systemd1",
                           "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Version"])
        try await Task.sleep(for: .seconds(2))
        kill(monitor.pid, SIGKILL)
        let text = String(decoding: await seen.output, as: UTF8.self)
        let calls = text.split(separator: "\n").filter { $0.contains("\"type\":\"method_call\"") }
        #expect(calls.contains { $0.contains("\"member\":\"Get\"") }, "the monitor saw no canary call: \(text.prefix(500))")
        let fromWatch = calls.filter { $0.contains("\"sender\":\"\(name)\"") }
        #expect(fromWatch.isEmpty, "the idle watch \(name) sent: \(fromWatch)")
    }
}
