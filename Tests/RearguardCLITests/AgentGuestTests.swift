import Foundation
import Testing
import TestScopes
import TestSupport

/// The real agent against the real systemd guest's bus: its reboot goes to logind, its restarts to systemd.
@Suite(.serialized, .testGuest) struct AgentGuestTests {
    /// 42.1 known good, then 42.2 booted with its required check failing: the agent rolls back and reboots the guest
    /// through logind. Returns the node (agent still running) and the guest's boot count before that reboot.
    static func rolledBackAndRebooted() async throws -> (node: AgentNode, bootsBefore: Int) {
        try await GuestSystem.waitRunning()
        let node = try await AgentNode.knownGoodOn421(busAddress: GuestSystem.address)
        let bootsBefore = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(30) { GuestSystem.boots() == bootsBefore + 1 }, "the guest did not reboot:\n\(node.log)")
        #expect(await waitUntil(5) { node.log.contains("reboot requested") }, "\(node.log)")
        try await GuestSystem.waitRunning()
        return (node, bootsBefore)
    }

    @Test func aRollbackRebootsTheRealSystemOnce() async throws {
        let (node, bootsBefore) = try await Self.rolledBackAndRebooted()
        await #expect(try node.defaultVersion() == "42.1")
        // The agent keeps running in this simulated node; the real one dies with its host. Nothing more happens.
        try await Task.sleep(for: .seconds(2))
        #expect(GuestSystem.boots() == bootsBefore + 1, "exactly one reboot")
        node.stop()

        await #expect(try node.rebootIntoDefault() == "42.1")
        node.serviceUp = true
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.log)")
        try await Task.sleep(for: .seconds(1))
        #expect(GuestSystem.boots() == bootsBefore + 1, "no reboot after the rollback")
        node.stop()
    }

    /// Issue 14 step 1: A good; B fails, one rollback and one reboot; back on A; the admin deploys B again by hand and
    /// boots it, its check still failing. The agent is killed and started again within each boot. Reboot requests are
    /// counted on the real logind: exactly one in all.
    @Test func aBadReleaseDeployedAgainByHandNeverCostsAReboot() async throws {
        let (node, bootsBefore) = try await Self.rolledBackAndRebooted()
        node.stop()

        // Back on 42.1: rolled back, and a restart within this boot changes nothing.
        await #expect(try node.rebootIntoDefault() == "42.1")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.log)")
        node.stop()
        try node.start()
        #expect(await waitUntil(20) { (try? await node.cli(["status", "--json"]))?.stdout.contains("\"rolled-back\"") == true }, "\(node.log)")
        await #expect(try node.cli(["status"]).stdout.contains("ROLLED BACK"))
        node.stop()

        // The admin deploys 42.2 again (a new deployment of the same checksum, first in boot order) and boots it.
        let bad = try await #require(try node.sysroot.adminStatus().first { $0.version == "42.2" })
        try await node.sysroot.deployAgain(checksum: bad.checksum)
        let order = try await node.sysroot.adminStatus()
        #expect(order.first?.checksum == bad.checksum && order.first?.serial == bad.serial + 1, "\(order)")
        try await node.boot(index: 0)
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "quarantine" }, "\(node.log)")
        node.stop()
        try node.start()
        #expect(await waitUntil(20) { (try? await node.cli(["status", "--json"]))?.stdout.contains("\"quarantine\"") == true }, "\(node.log)")
        try await Task.sleep(for: .seconds(3))
        node.stop()
        #expect(GuestSystem.boots() == bootsBefore + 1, "one reboot in all:\n\(node.allLogs)")
        #expect(AgentCrashTests.count(node.allLogs, "rebooting:") == 1, "\(node.allLogs)")
        #expect(AgentRunTests.rollbacks(node) == 1)
        #expect((node.state()?["reboot_times"] as? [Any])?.count == 1)
        await #expect(try node.sysroot.adminStatus().first?.serial == bad.serial + 1, "nothing was rolled back from the re-deployed 42.2")
    }

    @Test func aFailingCheckOnAKnownGoodBootRestartsItsUnitOnceAndNeverRollsBack() async throws {
        try await GuestSystem.waitRunning()
        let unit = "agent-sleep@rearguard-restart.service"
        try await GuestSystem.manager("StartUnit", "ss", [unit, "replace"])
        #expect(await waitUntil(10) { (try? await GuestSystem.unitProperty(unit, "ActiveState")) == "s \"active\"" })
        let before = try await GuestSystem.unitProperty(unit, "InvocationID")
        let node = try await AgentNode(booting: "42.2", soak: "1s", busAddress: GuestSystem.address)
        // The same check, now with a unit to restart.
        try node.editConfig(replacing: "required = true", with: "required = true\nrestart_unit = \"\(unit)\"")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        node.serviceUp = false
        #expect(await waitUntil(20) { (try? await GuestSystem.unitProperty(unit, "InvocationID")) != before }, "\(node.log)")
        #expect(await waitUntil(5) { node.log.contains("units-restarted") }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        #expect(AgentCrashTests.count(node.log, "restarted \(unit)") == 1, "one restart per failing episode:\n\(node.log)")
        #expect(node.recordedState() == "good")
        await #expect(try node.defaultVersion() == "42.2")
        node.stop()
        try await GuestSystem.manager("StopUnit", "ss", [unit, "replace"])
    }
}
