import Foundation
import Testing
import TestSupport

/// The real `rearguard run` process on a simulated node (real sysroot, real state file, real checks), rebooted by
/// the test: what the agent decides, what it writes, and that it never rolls back twice.
@Suite(.serialized) struct AgentRunTests {
    /// Boots 42.1 until it is known good, then "reboots" into 42.2 (the sysroot's default).
    static func knownGood(_ node: AgentNode) -> [String] {
        ((node.state()?["known_good"] as? [[String: Any]]) ?? []).compactMap { $0["version"] as? String }
    }

    static func rollbacks(_ node: AgentNode) -> Int { (node.state()?["rollbacks"] as? [Any])?.count ?? -1 }

    @Test func aFirstBootIsMarkedGoodAfterTheSoakAndNeverRolledBack() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "1s")
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "first-boot" })
        try await Task.sleep(for: .seconds(2))
        // Failing with no baseline: reported, never acted on.
        #expect(node.recordedState() == "first-boot")
        await #expect(try node.defaultVersion() == "42.2")
        await #expect(try node.waitVerdict(timeout: "300ms").status == 1)
        node.serviceUp = true
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        #expect(Self.knownGood(node) == ["42.2"])
        // The decision is written to the state file first and logged right after: wait for the log line.
        #expect(await waitUntil(5) { node.log.contains("boot-marked-good") }, "\(node.log)")
        node.stop()
    }

    @Test func aFailedUpdateIsRolledBackOnceAndTheNextBootIsRolledBack() async throws {
        let node = try await AgentNode.knownGoodOn421()
        node.serviceUp = false
        try node.start()
        // 42.2 fails in probation: the ostree driver makes 42.1 the default; the reboot has no bus here.
        #expect(await waitUntil(20) { (try? await node.defaultVersion()) == "42.1" }, "\(node.log)")
        #expect(await waitUntil(10) { node.log.contains("reboot request failed") || node.log.contains("cannot reboot") }, "\(node.log)")
        #expect(node.recordedState() == "rolling-back")
        #expect(FileManager.default.fileExists(atPath: node.holdPath))
        await #expect(try node.waitVerdict(timeout: "300ms").status == 1, "rolling-back is not a verdict yet")
        node.stop()

        // The boot loader starts 42.1: the agent sees the rollback through.
        await #expect(try node.rebootIntoDefault() == "42.1")
        node.serviceUp = true
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.log)")
        await #expect(try node.waitVerdict().status == 0)
        #expect(FileManager.default.fileExists(atPath: node.holdPath), "the hold is asserted on the next boot")
        let bad = (node.state()?["bad_releases"] as? [[String: Any]])?.compactMap { $0["version"] as? String }
        #expect(bad == ["42.2"])
        #expect(Self.rollbacks(node) == 1)
        node.stop()
    }

    @Test func aKnownGoodBootIsNeverRolledBack() async throws {
        let node = try await AgentNode.knownGoodOn421()
        // Boot 42.1 again (e.g. the admin chose it): failures on a known-good deployment are never the OS's fault.
        try node.boot(version: "42.1")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        node.serviceUp = false
        try await Task.sleep(for: .seconds(2))
        #expect(node.recordedState() == "good")
        await #expect(try node.defaultVersion() == "42.2")
        #expect(Self.rollbacks(node) == 0)
        node.stop()
    }

    @Test func observeModeDecidesButNeverActs() async throws {
        let node = try await AgentNode.knownGoodOn421()
        try node.editConfig(replacing: "mode = \"enforce\"", with: "mode = \"observe\"")
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "failing" }, "\(node.log)")
        try await Task.sleep(for: .seconds(1))
        await #expect(try node.defaultVersion() == "42.2")
        #expect(node.log.contains("rollback-withheld") && node.log.contains("would roll back to 42.1"))
        await #expect(try node.waitVerdict().status == 1)
        node.stop()
    }

    @Test func noRollbackTargetMeansQuarantineNotAReboot() async throws {
        // Only 42.1 is known good, and 42.3 boots with 42.2 (never known good) as its rollback deployment.
        let node = try await AgentNode(versions: ["42.1", "42.2", "42.3"], booting: "42.1")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        node.stop()
        try node.boot(version: "42.3")
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "quarantine" }, "\(node.log)")
        #expect(await waitUntil(5) { node.log.contains("was never known good") }, "\(node.log)")
        await #expect(try node.defaultVersion() == "42.3")
        #expect(!node.log.contains("rebooting"))
        await #expect(try node.waitVerdict().status == 1)
        node.stop()
    }

    /// Stages `version` from the booted 42.2 with libostree itself, as Zincati does.
    static func stage(_ version: String, on node: AgentNode) async throws {
        let booted = try await #require(try node.sysroot.adminStatus().first { $0.version == "42.2" })
        try await Shell.check([
            packageRoot + "/scripts/stage-deployment.sh", node.sysroot.path, "fedora-coreos",
            "\(booted.checksum).\(booted.serial)", version, node.hostRun,
        ])
    }

    @Test func aStagedUpdateTheOSTreeDriverCannotClearMeansQuarantine() async throws {
        let node = try await AgentNode.knownGoodOn421()
        try await Self.stage("42.3", on: node)
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "quarantine" }, "\(node.log)")
        #expect(await waitUntil(5) { node.log.contains("cannot clear the staged deployment") }, "\(node.log)")
        await #expect(try node.defaultVersion() != "42.1", "nothing was rolled back")
        #expect(!node.log.contains("rebooting"))
        node.stop()
    }

    @Test func aCorruptStateFileIsKeptAsideAndTheAgentOnlyObserves() async throws {
        let node = try await AgentNode.knownGoodOn421()
        let before = try String(contentsOfFile: node.statePath, encoding: .utf8)
        try String(before.prefix(before.count / 2)).write(toFile: node.statePath, atomically: true, encoding: .utf8)
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(10) { node.log.contains("observing only") }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        await #expect(try node.defaultVersion() == "42.2", "nothing is rolled back on a memory it cannot trust")
        let aside = try FileManager.default.contentsOfDirectory(atPath: node.stateDir).filter { $0.hasPrefix("state.json.corrupt-") }
        #expect(aside.count == 1)
        #expect(!FileManager.default.fileExists(atPath: node.statePath), "no fresh memory is written over the loss")
        node.stop()
        // Restarted, it still only observes until an admin has looked at the file kept aside.
        try node.start()
        #expect(await waitUntil(10) { node.log.contains("observing only") && node.log.contains("kept aside") }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        await #expect(try node.defaultVersion() == "42.2")
        node.stop()
    }

    @Test func aNewerSchemaIsLeftUntouchedAndTheAgentOnlyObserves() async throws {
        let node = try await AgentNode.knownGoodOn421()
        let newer = #"{"schema_version": 99, "memory": {"future": true}}"#
        try newer.write(toFile: node.statePath, atomically: true, encoding: .utf8)
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(10) { node.log.contains("observing only") }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        await #expect(try node.defaultVersion() == "42.2")
        #expect(try String(contentsOfFile: node.statePath, encoding: .utf8) == newer)
        node.stop()
    }

    @Test func aBadConfigIsRefusedWithItsErrors() async throws {
        let node = try await AgentNode(booting: "42.1")
        try "[assessment]\nsoak = \"soon\"\n".write(toFile: node.configDir + "/20-bad.toml", atomically: true, encoding: .utf8)
        let out = try await Shell.run([try Shell.rearguardBinary(), "run", "--config-dir", node.configDir])
        #expect(out.status == 78)
        #expect(out.stderr.contains("20-bad.toml") && out.stderr.contains("soak"), "\(out.stderr)")
        #expect(node.state() == nil)
    }
}

/// SIGKILL the real agent at each step of a rollback, start it again in the same boot, then boot what the boot
/// loader would: exactly one rollback, one reboot request, nothing lost.
@Suite(.serialized) struct AgentCrashTests {
    static func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test(arguments: ["before-intent", "after-intent", "after-transaction", "before-reboot"])
    func killedAtAStepOfTheRollbackRollsBackExactlyOnce(_ failpoint: String) async throws {
        let node = try await AgentNode.knownGoodOn421()
        node.serviceUp = false
        try node.start(failpoint: failpoint)
        #expect(await waitUntil(20) { node.isStopped }, "failpoint \(failpoint) not reached:\n\(node.log)")
        #expect(await waitUntil(5) { node.log.contains("failpoint \(failpoint) reached") }, "\(node.log)")
        node.stop()  // SIGKILL while stopped at the failpoint

        // The same boot: the agent starts again and finishes what the memory says is left, once.
        try node.start()
        #expect(await waitUntil(20) { Self.count(node.log, "rebooting:") == 1 }, "\(node.allLogs)")
        try await Task.sleep(for: .seconds(1))
        await #expect(try node.defaultVersion() == "42.1")
        #expect(Self.count(node.allLogs, "rebooting:") == 1, "one reboot request in all:\n\(node.allLogs)")
        #expect(Self.count(node.allLogs, "rolling back from=") <= 2)
        node.stop()

        await #expect(try node.rebootIntoDefault() == "42.1")
        node.serviceUp = true
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "rolled-back" }, "\(node.allLogs)")
        #expect(AgentRunTests.rollbacks(node) == 1)
        #expect((node.state()?["reboot_times"] as? [Any])?.count == 1)
        #expect((node.state()?["bad_releases"] as? [[String: Any]])?.compactMap { $0["version"] as? String } == ["42.2"])
        #expect(FileManager.default.fileExists(atPath: node.holdPath))
        node.stop()

        // 42.2 is never rolled back from twice: booting it once more (an admin's choice) ends in quarantine.
        try node.boot(version: "42.2")
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "quarantine" }, "\(node.log)")
        #expect(AgentRunTests.rollbacks(node) == 1)
        node.stop()
    }
}
