import Foundation
import Testing
import TestScopes
import TestSupport

/// The real agent with `[rollback] driver = "rpm-ostree"`: rpm-ostreed (the stand-in, on the guest's real bus)
/// changes the real sysroot, logind in the real guest reboots.
@Suite(.serialized, .testGuest) struct AgentRpmOstreeTests {
    static let rollbackCalls = [
        #"RegisterClient([{"id":"rearguard"}])"#, #"Rollback([{"reboot":false}])"#, "Start([])", "UnregisterClient([{}])",
    ]

    /// A node known good on 42.1, rebooted into 42.2, with rpm-ostreed serving that boot.
    static func node(fault: RpmOstreeStandIn.Fault = .none, delay: Double? = nil, staged: Bool = false, bus: String? = nil)
        async throws -> (AgentNode, RpmOstreeStandIn)
    {
        try await GuestSystem.waitRunning()
        let node = try await AgentNode.knownGoodOn421(busAddress: bus ?? GuestSystem.address, driver: "rpm-ostree")
        if staged { try await AgentRunTests.stage("42.3", on: node) }
        let booted = try await #require(try node.sysroot.adminStatus().first { $0.version == "42.2" })
        let standIn = try await RpmOstreeStandIn.start(
            sysroot: node.sysroot.path, runDirectory: node.hostRun, hostRun: node.hostRun,
            booted: "\(booted.checksum).\(booted.serial)", fault: fault, delay: delay)
        return (node, standIn)
    }

    @Test func aFailedUpdateIsRolledBackThroughRpmOstreedAndTheGuestRebootsOnce() async throws {
        let (node, standIn) = try await Self.node()
        let boots = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(30) { GuestSystem.boots() == boots + 1 }, "\(node.log)\n\(standIn.output)")
        #expect(standIn.calls() == Self.rollbackCalls)
        #expect(standIn.violations().isEmpty)
        await #expect(try node.sysroot.adminStatus().map(\.version) == ["42.1", "42.2"])
        try await GuestSystem.waitRunning()
        node.stop()
        standIn.stop()

        await #expect(try node.rebootIntoDefault() == "42.1")
        node.serviceUp = true
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.log)")
        #expect(GuestSystem.boots() == boots + 1)
        #expect(FileManager.default.fileExists(atPath: node.holdPath))
        node.stop()
    }

    @Test func aStagedUpdateIsCleanedUpThroughRpmOstreedBeforeTheRollback() async throws {
        let (node, standIn) = try await Self.node(staged: true)
        let boots = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(30) { GuestSystem.boots() == boots + 1 }, "\(node.log)\n\(standIn.output)")
        #expect(standIn.calls() == [
            #"RegisterClient([{"id":"rearguard"}])"#, #"Cleanup([["pending-deploy"]])"#, "Start([])", "UnregisterClient([{}])",
        ] + Self.rollbackCalls)
        await #expect(try node.defaultVersion() == "42.1")
        #expect(!FileManager.default.fileExists(atPath: node.hostRun + "/ostree/staged-deployment"))
        try await GuestSystem.waitRunning()
        node.stop()
    }

    @Test(arguments: [RpmOstreeStandIn.Fault.fail, .hang])
    func aTransactionThatFailsOrNeverFinishesMeansQuarantineAndNoReboot(_ fault: RpmOstreeStandIn.Fault) async throws {
        let (node, standIn) = try await Self.node(fault: fault)
        let boots = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        // transaction_timeout is 5 s on the test node.
        #expect(await waitUntil(30) { node.recordedState() == "quarantine" }, "\(node.log)\n\(standIn.output)")
        #expect(await waitUntil(5) { node.log.contains("rollback failed") }, "\(node.log)")
        if fault == .hang { #expect(await waitUntil(5) { node.log.contains("did not finish within") }, "\(node.log)") }
        await #expect(try node.defaultVersion() == "42.2", "the sysroot is unchanged")
        try await Task.sleep(for: .seconds(1))
        #expect(GuestSystem.boots() == boots, "no reboot")
        await #expect(try node.waitVerdict().status == 1)
        node.stop()
    }

    @Test func rpmOstreedAbsentFromTheBusMeansQuarantine() async throws {
        let (node, standIn) = try await Self.node()
        standIn.stop()
        let boots = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(30) { node.recordedState() == "quarantine" }, "\(node.log)")
        await #expect(try node.defaultVersion() == "42.2")
        #expect(GuestSystem.boots() == boots)
        node.stop()
    }

    @Test func killedDuringTheTransactionTheAgentSeesItThroughOnce() async throws {
        let (node, standIn) = try await Self.node(fault: .slow, delay: 3)
        let boots = GuestSystem.boots()
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { standIn.calls().contains("Start([])") }, "\(node.log)")
        node.stop()  // SIGKILL while rpm-ostreed works
        #expect(await waitUntil(10) { standIn.events().contains("transaction-finished") }, "\(standIn.output)")
        await #expect(try node.defaultVersion() == "42.1")

        // The same boot: the intent says requested, the sysroot says done: only the reboot is left.
        try node.start()
        #expect(await waitUntil(30) { GuestSystem.boots() == boots + 1 }, "\(node.allLogs)")
        #expect(standIn.calls().filter { $0.hasPrefix("Rollback(") }.count == 1, "\(standIn.calls())")
        try await GuestSystem.waitRunning()
        try await Task.sleep(for: .seconds(1))
        #expect(GuestSystem.boots() == boots + 1)
        node.stop()
    }
}
