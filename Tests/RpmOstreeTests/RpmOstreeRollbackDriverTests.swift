import DBus
import Foundation
import Logging
import RearguardCore
import RearguardDaemon
import RpmOstree
import Testing
import TestScopes
import TestSupport

/// One test's world: a real sysroot booting 42.2 (or the last version given), a fake host `/run`, the stand-in
/// rpm-ostreed on the guest's bus and a driver whose `host_run` is that `/run`.
struct RpmOstreeWorld {
    let fixture: SysrootFixture
    let run: String
    let booted: SysrootFixture.StatusEntry
    let source: OSTreeDeploymentSource
    let client: RpmOstreeClient
    let driver: RpmOstreeRollbackDriver
    let standIn: RpmOstreeStandIn

    static var logger: Logger {
        var l = Logger(label: "rpm-ostree-tests")
        l.logLevel = .debug
        return l
    }

    init(
        versions: [String] = ["42.1", "42.2"], staging: String? = nil, fault: RpmOstreeStandIn.Fault = .none,
        faultMessage: String? = nil, timeout: Duration = .seconds(20)
    ) async throws {
        fixture = try await SysrootFixture(versions: versions)
        run = fixture.scratch + "/host-run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        booted = try await #require(try fixture.adminStatus().first)
        if let staging {
            try await Shell.check([
                Shell.packageRoot.appendingPathComponent("scripts/stage-deployment.sh").path, fixture.path, "fedora-coreos",
                "\(booted.checksum).\(booted.serial)", staging, run,
            ])
        }
        source = OSTreeDeploymentSource(sysroot: fixture.path, cmdline: try fixture.cmdline(booting: try #require(versions.last)), run: run)
        standIn = try await RpmOstreeStandIn.start(
            sysroot: fixture.path, runDirectory: run, booted: "\(booted.checksum).\(booted.serial)", fault: fault, faultMessage: faultMessage)
        client = RpmOstreeClient(
            busAddress: standIn.busAddress, hostRun: run, transactionTimeout: timeout, callTimeout: .seconds(10), logger: Self.logger)
        driver = RpmOstreeRollbackDriver(client: client, source: source, logger: Self.logger)
    }

    /// The boot order as `ostree admin status` prints it, by version.
    func order() async throws -> [String] { try await fixture.adminStatus().map { $0.version ?? "?" } }

    /// The releases a rollback goes from and to, read from the sysroot.
    func releases() throws -> (from: Assessment.Release, to: Assessment.Release) {
        let snapshot = try source.readSnapshot()
        let booted = try #require(snapshot.booted)
        let target = snapshot.rollback ?? booted
        return (Assessment.Release(checksum: booted.checksum, version: booted.version),
                Assessment.Release(checksum: target.checksum, version: target.version))
    }

    var stagedFile: String { run + "/ostree/staged-deployment" }
}

/// Asserts a `BusError` of `code` whose message contains every one of `parts`; returns it.
@discardableResult
func expectBusError(
    _ code: BusError.Code, containing parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> BusError? {
    do {
        try await body()
        Issue.record("expected a \(code) error, got success", sourceLocation: sourceLocation)
    } catch let error as BusError {
        print("observed error: \(error)")
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        for part in parts {
            #expect(error.message.contains(part), "message '\(error.message)' lacks '\(part)'", sourceLocation: sourceLocation)
        }
        #expect(error.message.first?.isLowercase == true, "message '\(error.message)' should start lowercase", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a BusError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// The rpm-ostree driver through the stand-in rpm-ostreed on the guest's real bus, over real sysroots. One at a time:
/// there is one `org.projectatomic.rpmostree1` name on the bus.
@Suite(.serialized, .timeLimit(.minutes(3)), .testGuest)
struct RpmOstreeRollbackDriverTests {
    @Test func rollsBackThroughRpmOstreedAndTheSysrootSaysSo() async throws {
        let world = try await RpmOstreeWorld()
        await #expect(try world.order() == ["42.2", "42.1"])
        let (from, to) = try world.releases()
        try await world.driver.rollback(from: from, to: to)
        await #expect(try world.order() == ["42.1", "42.2"])
        #expect(world.standIn.calls() == [
            #"RegisterClient([{"id":"rearguard"}])"#, #"Rollback([{"reboot":false}])"#, "Start([])", "UnregisterClient([{}])",
        ])
        #expect(world.standIn.violations().isEmpty)
        // The stand-in listened only under the test's host_run, and told the client /run.
        let created = try #require(world.standIn.records().first { $0.event == "transaction-created" })
        #expect(created.fields["address"] as? String == "unix:path=/run/rpm-ostree-transaction.sock")
        #expect(created.fields["socket"] as? String == world.run + "/rpm-ostree-transaction.sock")
        #expect(world.standIn.events().contains("transaction-finished"))
    }

    @Test func clearsAStagedDeploymentThenRollsBack() async throws {
        let world = try await RpmOstreeWorld(staging: "42.3")
        #expect(FileManager.default.fileExists(atPath: world.stagedFile))
        let (from, to) = try world.releases()
        try await world.driver.clearStaged()
        #expect(!FileManager.default.fileExists(atPath: world.stagedFile))
        #expect(!FileManager.default.fileExists(atPath: world.stagedFile + "-locked"))
        #expect(try world.source.readSnapshot().staged == nil)
        try await world.driver.rollback(from: from, to: to)
        await #expect(try world.order() == ["42.1", "42.2"])
        #expect(world.standIn.calls() == [
            #"RegisterClient([{"id":"rearguard"}])"#, #"Cleanup([["pending-deploy"]])"#, "Start([])", "UnregisterClient([{}])",
            #"RegisterClient([{"id":"rearguard"}])"#, #"Rollback([{"reboot":false}])"#, "Start([])", "UnregisterClient([{}])",
        ])
        #expect(world.standIn.violations().isEmpty)
    }

    @Test func refusesWhileAStagedDeploymentIsPresent() async throws {
        let world = try await RpmOstreeWorld(staging: "42.3")
        let (from, to) = try world.releases()
        await expectBusError(.transactionFailed, containing: ["rollback transaction failed", "Staged deployment (remove with cleanup -p)"]) {
            try await world.driver.rollback(from: from, to: to)
        }
        await #expect(try world.order() == ["42.2", "42.1"])
        #expect(FileManager.default.fileExists(atPath: world.stagedFile))
    }

    @Test func saysSoWhenThereIsNoRollbackDeployment() async throws {
        let world = try await RpmOstreeWorld(versions: ["42.1"])
        let (from, to) = try world.releases()
        await expectBusError(.transactionFailed, containing: ["No rollback deployment found"]) {
            try await world.driver.rollback(from: from, to: to)
        }
        await #expect(try world.order() == ["42.1"])
    }

    @Test func refusesATargetRpmOstreeWouldNotPick() async throws {
        let world = try await RpmOstreeWorld()
        let (from, _) = try world.releases()
        await #expect(throws: RollbackError.self) {
            try await world.driver.rollback(from: from, to: Assessment.Release(checksum: String(repeating: "9", count: 64)))
        }
        #expect(world.standIn.calls().isEmpty)
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func aSecondRollbackInTheSameBootPutsTheBootedDeploymentBackOnTop() async throws {
        let world = try await RpmOstreeWorld()
        let identity = try #require(try world.source.readSnapshot().booted).checksum
        let (from, to) = try world.releases()
        try await world.driver.rollback(from: from, to: to)
        // The rewrite removed the ostree= link of the running kernel: later reads need the identity from before.
        var driver = world.driver
        driver.knownBooted = BootedIdentity(osname: "fedora-coreos", checksum: identity, serial: world.booted.serial)
        try await driver.rollback(from: from, to: from)
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func aFailedTransactionCarriesItsMessageAndLeavesTheSysroot() async throws {
        let world = try await RpmOstreeWorld(fault: .fail, faultMessage: "error: sysroot is on fire")
        let (from, to) = try world.releases()
        await expectBusError(.transactionFailed, containing: ["rpm-ostree rollback transaction failed", "error: sysroot is on fire"]) {
            try await world.driver.rollback(from: from, to: to)
        }
        await #expect(try world.order() == ["42.2", "42.1"])
        #expect(world.standIn.calls().last == "UnregisterClient([{}])")
    }

    @Test func aTransactionThatNeverFinishesTimesOut() async throws {
        let world = try await RpmOstreeWorld(fault: .hang, timeout: .seconds(2))
        let (from, to) = try world.releases()
        let started = ContinuousClock.now
        await expectBusError(.timeout, containing: ["rollback transaction did not finish within 2"]) {
            try await world.driver.rollback(from: from, to: to)
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(6), "gave up after \(elapsed)")
        #expect(world.standIn.calls().contains("Cancel([])"))
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func aClientThatLeavesBeforeStartCancelsTheTransaction() async throws {
        let world = try await RpmOstreeWorld()
        let client = world.client
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await client.rollback()
        }
        await expectBusError(.cancelled, containing: ["rollback transaction cancelled before start"]) { try await task.value }
        #expect(await waitUntil(5) { world.standIn.events().contains("transaction-cancelled") }, "events: \(world.standIn.events())")
        #expect(!world.standIn.calls().contains("Start([])"))
        await #expect(try world.order() == ["42.2", "42.1"])
        // The cancelled transaction is gone: the next one runs.
        let (from, to) = try world.releases()
        try await world.driver.rollback(from: from, to: to)
        await #expect(try world.order() == ["42.1", "42.2"])
    }

    @Test func aDaemonThatExitsBeforeTheClientConnectsIsConnectionRefused() async throws {
        let world = try await RpmOstreeWorld(fault: .exitBeforeConnect)
        let client = world.client
        await expectBusError(
            .disconnected,
            containing: ["rpm-ostree rollback transaction (rpm-ostreed said unix:path=/run/rpm-ostree-transaction.sock)",
                         "cannot connect to unix:path=\(world.run)/rpm-ostree-transaction.sock", "Connection refused"]
        ) {
            try await client.rollback()
        }
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func aDaemonThatExitsBeforeStartIsAClearError() async throws {
        let world = try await RpmOstreeWorld(fault: .exitBeforeStart)
        let (from, to) = try world.releases()
        await expectBusError(.disconnected, containing: ["rpm-ostree rollback transaction: Start failed"]) {
            try await world.driver.rollback(from: from, to: to)
        }
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func anUnreachableBusIsAClearError() async throws {
        let client = RpmOstreeClient(busAddress: "unix:path=/nonexistent/rearguard/bus", hostRun: "/run/host", logger: RpmOstreeWorld.logger)
        await expectBusError(.disconnected, containing: ["cannot reach rpm-ostreed", "unix:path=/nonexistent/rearguard/bus"]) {
            try await client.rollback()
        }
    }

    @Test func theStandInRefusesClientsThatBreakTheContract() async throws {
        let world = try await RpmOstreeWorld()
        let os = "/org/projectatomic/rpmostree1/fedora_coreos"
        func busctl(_ options: String) async throws -> ProcessOutput {
            try await Shell.run([
                "busctl", "--address=\(world.standIn.busAddress)", "call", "org.projectatomic.rpmostree1", os,
                "org.projectatomic.rpmostree1.OS", "Rollback", "a{sv}", "1", "reboot", "b", options,
            ])
        }
        try await Shell.require("busctl", package: "systemd")
        let unregistered = try await busctl("false")
        #expect(unregistered.status != 0 && unregistered.stderr.contains("Rollback before RegisterClient"), "\(unregistered)")
        let rebooting = try await busctl("true")
        #expect(rebooting.status != 0 && rebooting.stderr.contains("reboot=true"), "\(rebooting)")
        #expect(world.standIn.violations().count == 2)
        await #expect(try world.order() == ["42.2", "42.1"])
    }

    @Test func theStandInListsDeploymentsAsRpmOstreedDoes() async throws {
        let world = try await RpmOstreeWorld(staging: "42.3")
        try await Shell.require("busctl", package: "systemd")
        let sysroot = "/org/projectatomic/rpmostree1/Sysroot", interface = "org.projectatomic.rpmostree1.Sysroot"
        let booted = try await Shell.check([
            "busctl", "--address=\(world.standIn.busAddress)", "get-property", "org.projectatomic.rpmostree1", sysroot, interface, "Booted",
        ])
        #expect(booted.trimmingCharacters(in: .whitespacesAndNewlines) == #"o "/org/projectatomic/rpmostree1/fedora_coreos""#)
        let json = try await Shell.check([
            "busctl", "--json=short", "--address=\(world.standIn.busAddress)", "get-property", "org.projectatomic.rpmostree1", sysroot,
            interface, "Deployments",
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let list = try #require(object["data"] as? [[String: [String: Any]]])
        func value(_ i: Int, _ key: String) -> String { list[i][key].map { "\($0["data"] ?? "nil")" } ?? "missing" }
        // Boot order: the staged 42.3 first, then the booted 42.2, then 42.1.
        #expect(list.count == 3)
        #expect(list.indices.map { value($0, "version") } == ["42.3", "42.2", "42.1"])
        #expect(list.indices.map { value($0, "staged") } == ["1", "0", "0"])
        #expect(list.indices.map { value($0, "booted") } == ["0", "1", "0"])
        #expect(value(1, "checksum") == world.booted.checksum && value(1, "osname") == "fedora-coreos")
        #expect(value(1, "id") == "fedora-coreos-\(world.booted.checksum).\(world.booted.serial)")
        for key in ["serial", "timestamp", "origin", "pinned"] { #expect(value(1, key) != "missing", "no \(key)") }
    }
}

/// The address rewrite, without a bus.
@Suite struct TransactionAddressTests {
    @Test func rewritesTheRunPrefixToHostRun() {
        #expect(RpmOstreeClient.transactionAddress("unix:path=/run/rpm-ostree-transaction.sock", hostRun: "/run/host")
            == "unix:path=/run/host/rpm-ostree-transaction.sock")
        #expect(RpmOstreeClient.transactionAddress("unix:path=/run/rpm-ostree-transaction.sock", hostRun: "/run/host/")
            == "unix:path=/run/host/rpm-ostree-transaction.sock")
        #expect(RpmOstreeClient.transactionAddress("unix:path=/run/x.sock,guid=abc;tcp:host=127.0.0.1", hostRun: "/host run")
            == "unix:path=/host%20run/x.sock,guid=abc;tcp:host=127.0.0.1")
    }

    @Test func leavesOtherAddressesAlone() {
        #expect(RpmOstreeClient.transactionAddress("unix:path=/run/t.sock", hostRun: "/run") == "unix:path=/run/t.sock")
        #expect(RpmOstreeClient.transactionAddress("unix:path=/runner/t.sock", hostRun: "/run/host") == "unix:path=/runner/t.sock")
        #expect(RpmOstreeClient.transactionAddress("unix:abstract=/run/t", hostRun: "/run/host") == "unix:abstract=/run/t")
        #expect(RpmOstreeClient.transactionAddress("unix:path=/var/run/t.sock", hostRun: "/run/host") == "unix:path=/var/run/t.sock")
    }
}
