import DBus
import Foundation
import RearguardCore
import RearguardDaemon
import Systemd
import Testing
import TestSupport

extension GuestSystemdTests {
    @Test func systemStateOfTheGuestIsRunning() async throws {
        let bus = try await TestGuest.bus()
        #expect(try await bus.systemState() == "running")
    }

    @Test func activeUnitReadsLoadedActiveRunningWithInvocationID() async throws {
        let bus = try await TestGuest.bus()
        let s = try await bus.unitStatus("agent-ok.service")
        #expect(s.loadState == "loaded")
        #expect(s.activeState == "active")
        #expect(s.subState == "running")
        #expect(s.result == "success")
        #expect(s.invocationID.count == 32 && s.invocationID.allSatisfy(\.isHexDigit))
        #expect(s.changedAt != nil)
        #expect(s.objectPath == "/org/freedesktop/systemd1/unit/agent_2dok_2eservice")
    }

    @Test func unknownUnitIsNotFoundNotAnError() async throws {
        let bus = try await TestGuest.bus()
        let s = try await bus.unitStatus("no-such-unit-rearguard.service")
        #expect(s.loadState == "not-found")
        #expect(s.unitState.isNotFound)
        #expect(s.activeState == "inactive")
    }

    @Test func malformedUnitNameThrowsAClearError() async throws {
        let bus = try await TestGuest.bus()
        let error = await #expect(throws: BusError.self) { try await bus.unitStatus("not a unit!") }
        #expect(error?.code == .invalidUnitName)
        #expect(error?.busError == "org.freedesktop.DBus.Error.InvalidArgs")
        #expect(error?.message.contains("invalid unit name 'not a unit!'") == true)
        #expect(error?.isRetryable == false)
    }

    @Test func unreachableBusThrowsRetryableDisconnectedNamingTheAddress() async throws {
        let bus = Bus(address: "unix:path=/nonexistent/rearguard-test.sock", logger: TestGuest.logger)
        let error = await #expect(throws: BusError.self) { try await bus.systemState() }
        #expect(error?.code == .disconnected)
        #expect(error?.isRetryable == true)
        #expect(error?.message.contains("/nonexistent/rearguard-test.sock") == true)
    }

    @Test func failingUnitReportsExitCodeAndStatus() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-fail@exitcode.service"
        try? await bus.resetFailedUnit(unit)
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        _ = try await log.wait("initial state") { EventLog.state($0, unit) != nil }
        try await bus.startUnit(unit)
        _ = try await log.wait("failed") { EventLog.state($0, unit)?.activeState == "failed" }
        let s = try await bus.unitStatus(unit)
        #expect(s.activeState == "failed")
        #expect(s.subState == "failed")
        #expect(s.result == "exit-code")
        #expect(s.execMainStatus == 1)
        #expect(s.execMainCode == 1)  // CLD_EXITED
        try await bus.resetFailedUnit(unit)
    }

    @Test func killedUnitReportsSignalAndTheWatchSeesIt() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-sleep@kill.service"
        try? await bus.resetFailedUnit(unit)
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        try await bus.startUnit(unit)
        _ = try await log.wait("running") { EventLog.state($0, unit)?.subState == "running" }
        try await bus.killUnit(unit, signal: SIGKILL)
        let (event, _) = try await log.wait("failed by signal") { EventLog.state($0, unit)?.activeState == "failed" }
        let s = try #require(EventLog.state(event, unit))
        #expect(s.result == "signal")
        #expect(s.execMainStatus == SIGKILL)
        try await bus.resetFailedUnit(unit)
    }

    @Test func flappingUnitShowsGrowingNRestarts() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-flap.service"
        let (log, task) = EventLog.start(UnitWatch.events(units: [unit], address: TestGuest.address, logger: TestGuest.logger))
        defer { task.cancel() }
        let (first, i) = try await log.wait("initial state") { EventLog.state($0, unit) != nil }
        let start = try #require(EventLog.state(first, unit)).nRestarts
        try await bus.startUnit(unit)
        let (e1, j) = try await log.wait(after: i, "one restart") { (EventLog.state($0, unit)?.nRestarts ?? 0) > start }
        let (e2, _) = try await log.wait(after: j, "a second restart") { (EventLog.state($0, unit)?.nRestarts ?? 0) > start + 1 }
        let a = try #require(EventLog.state(e1, unit))
        let b = try #require(EventLog.state(e2, unit))
        #expect(a.invocationID != b.invocationID)
        try await bus.stopUnit(unit)
    }

    @Test func unitInspectorPortReadsAndWatches() async throws {
        let bus = try await TestGuest.bus()
        let inspector: any UnitInspector = SystemdUnitInspector(bus: bus, logger: TestGuest.logger)
        let state = try await inspector.unitState("agent-ok.service")
        #expect(state.activeState == "active")
        var iterator = inspector.watchUnits(["agent-ok.service"]).makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first == state)
    }
}
