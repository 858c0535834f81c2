import Foundation
import Testing
import TestSupport

/// The real agent against the real systemd guest's bus: its reboot goes to logind, its restarts to systemd.
@Suite(.serialized) struct AgentGuestTests {
    @Test func aRollbackRebootsTheRealSystemOnce() async throws {
        try await GuestSystem.waitRunning()
        let node = try await AgentRunTests.nodeKnownGoodOn421(busAddress: GuestSystem.address)
        let bootsBefore = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(30) { GuestSystem.boots() == bootsBefore + 1 }, "the guest did not reboot:\n\(node.log)")
        #expect(node.log.contains("reboot requested"), "\(node.log)")
        try await GuestSystem.waitRunning()
        #expect(try node.defaultVersion() == "42.1")
        // The agent keeps running in this simulated node; the real one dies with its host. Nothing more happens.
        try await Task.sleep(for: .seconds(2))
        #expect(GuestSystem.boots() == bootsBefore + 1, "exactly one reboot")
        node.stop()

        #expect(try node.rebootIntoDefault() == "42.1")
        node.serviceUp = true
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.log)")
        try await Task.sleep(for: .seconds(1))
        #expect(GuestSystem.boots() == bootsBefore + 1, "no reboot after the rollback")
        node.stop()
    }

    @Test func aFailingCheckOnAKnownGoodBootRestartsItsUnitOnceAndNeverRollsBack() async throws {
        try await GuestSystem.waitRunning()
        let unit = "agent-sleep@rearguard-restart.service"
        try GuestSystem.manager("StartUnit", "ss", [unit, "replace"])
        #expect(await waitUntil(10) { (try? GuestSystem.unitProperty(unit, "ActiveState")) == "s \"active\"" })
        let before = try GuestSystem.unitProperty(unit, "InvocationID")
        let node = try AgentNode(booting: "42.2", soak: "1s", busAddress: GuestSystem.address)
        // The same check, now with a unit to restart.
        try node.editConfig(replacing: "required = true", with: "required = true\nrestart_unit = \"\(unit)\"")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        node.serviceUp = false
        #expect(await waitUntil(20) { (try? GuestSystem.unitProperty(unit, "InvocationID")) != before }, "\(node.log)")
        #expect(node.log.contains("units-restarted"))
        try await Task.sleep(for: .seconds(2))
        #expect(AgentCrashTests.count(node.log, "restarted \(unit)") == 1, "one restart per failing episode:\n\(node.log)")
        #expect(node.recordedState() == "good")
        #expect(try node.defaultVersion() == "42.2")
        node.stop()
        try GuestSystem.manager("StopUnit", "ss", [unit, "replace"])
    }
}
