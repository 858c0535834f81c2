import Foundation
import Posix
import Glibc
import Testing
import TestSupport

/// Issue 14: what the real `rearguard run` must survive on a real sysroot: a staged update that never became the
/// booted one, and abuse (a second agent, a stale socket, a full file system, a planted symlink, a check whose
/// program leaves children behind, and many rounds).
@Suite(.serialized) struct AgentHardeningTests {
    static func status(_ node: AgentNode) async -> [String: Any]? {
        guard let out = try? await node.cli(["status", "--json"]), out.status != 69 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any]
    }

    // MARK: 2. a failed finalization

    @Test func aStagedUpdateThatDidNotBootIsAFailedFinalizationNotAProbation() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "1s")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        try await AgentRunTests.stage("42.3", on: node)
        // The shutdown of the reboot Zincati asks for right after staging: the agent reads the deployments once more.
        await node.terminate()
        let staged = node.state()?["staged_update"] as? [String: Any]
        #expect((staged?["release"] as? [String: Any])?["version"] as? String == "42.3", "\(node.allLogs)")

        // ostree-finalize-staged fails at shutdown: no staged deployment is left and 42.2 boots again.
        try FileManager.default.removeItem(atPath: node.hostRun + "/ostree/staged-deployment")
        try node.boot(version: "42.2")
        try node.start()
        #expect(await waitUntil(20) { node.log.contains("finalization-failed") }, "\(node.log)")
        #expect(node.log.contains("42.3 was staged but 42.2 booted again"), "\(node.log)")
        #expect(node.log.contains("message_id=4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a09"), "\(node.log)")
        // The decision is journaled, then persisted with the new boot's id: wait for the file, not the log line.
        #expect(await waitUntil(10) { node.recordedState() == "good" }, "the old deployment booting again is no update to put on probation")
        let status = try #require(await Self.status(node))
        #expect((status["last_decision"] as? [String: Any])?["action"] as? String == "finalization-failed")
        #expect(status["finalization_failures_total"] as? Int == 1)
        #expect(node.state()?["staged_update"] == nil || node.state()?["staged_update"] is NSNull)
        node.stop()

        // Said once: the next start in the same boot, and the next boot, add nothing.
        try node.start()
        #expect(await node.waitServing())
        node.stop()
        try node.boot(version: "42.2")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        await #expect(Self.status(node)?["finalization_failures_total"] as? Int == 1)
        #expect(!node.log.contains("finalization-failed"))
        node.stop()
    }

    // MARK: 4. abuse

    @Test func aSecondAgentOnTheSameStateFolderRefusesToStart() async throws {
        let node = try await AgentNode(booting: "42.1")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        let first = try #require(node.agent?.pid)
        let second = try ServerProcess(
            [try Shell.rearguardBinary(), "run", "--config-dir", node.configDir], log: node.root + "/second.log")
        let status = await second.waitExit(10)
        #expect(status == .exited(75), "the second agent must refuse at once:\n\(second.output)")
        #expect(second.output.contains("another rearguard agent (pid \(first)) holds the state folder"), "\(second.output)")
        await #expect(Self.status(node) != nil, "the first agent still serves")
        node.stop()
    }

    @Test func aSecondAgentOnTheSameSocketNeverActs() async throws {
        // The first agent observes a failing 42.2; a second one with its own state (42.1 known good, enforcing) and
        // the same socket would roll back if it ever acted.
        let node = try await AgentNode.knownGoodOn421()
        let otherState = node.root + "/state-2"
        try FileManager.default.createDirectory(atPath: otherState, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: node.statePath, toPath: otherState + "/state.json")
        let otherConfig = node.root + "/config-2.d"
        try FileManager.default.createDirectory(atPath: otherConfig, withIntermediateDirectories: true)
        let config = try String(contentsOfFile: node.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "state_dir = \"\(node.stateDir)\"", with: "state_dir = \"\(otherState)\"")
            .write(toFile: otherConfig + "/10-node.toml", atomically: true, encoding: .utf8)
        try node.editConfig(replacing: "mode = \"enforce\"", with: "mode = \"observe\"")
        node.serviceUp = false
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        let before = try String(contentsOfFile: otherState + "/state.json", encoding: .utf8)
        let second = try ServerProcess(
            [try Shell.rearguardBinary(), "run", "--config-dir", otherConfig], log: node.root + "/second.log")
        let status = await second.waitExit(10)
        #expect(status != nil && status != .exited(0), "the second agent must stop:\n\(second.output)")
        #expect(second.output.contains("another agent serves \(node.socketPath)"), "\(second.output)")
        try await Task.sleep(for: .seconds(2))
        await #expect(try node.defaultVersion() == "42.2", "nothing was rolled back")
        #expect(try String(contentsOfFile: otherState + "/state.json", encoding: .utf8) == before, "the second agent decided nothing")
        node.stop()
    }

    @Test func aSocketLeftBySIGKILLIsServedAgain() async throws {
        let node = try await AgentNode(booting: "42.1")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        node.stop()  // SIGKILL: the socket file stays behind
        var info = stat()
        #expect(lstat(node.socketPath, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK, "a stale socket is left")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        node.stop()
    }

    @Test func aFullStateFileSystemStopsTheDecisionAndLosesNothing() async throws {
        let node = try await AgentNode.knownGoodOn421()
        let saved = try Data(contentsOf: URL(fileURLWithPath: node.statePath))
        try await Shell.check(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "rearguard-full", node.stateDir])
        defer { Shell.cleanup(["umount", "-l", node.stateDir]) }
        try saved.write(to: URL(fileURLWithPath: node.statePath))
        try node.editConfig(replacing: "soak = \"1s\"", with: "soak = \"1h\"")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "probation" }, "\(node.log)")
        // Fill what is left: the next decision cannot be written.
        _ = try await Shell.run(["dd", "if=/dev/zero", "of=\(node.stateDir)/filler", "bs=4k"])
        let recorded = try Data(contentsOf: URL(fileURLWithPath: node.statePath))
        node.serviceUp = false
        #expect(await waitUntil(20) {
            ((await Self.status(node)?["observe_only_reason"] as? String) ?? "").contains("cannot write the state file")
        }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        await #expect(try node.defaultVersion() == "42.2", "a decision that could not be written is not acted on")
        #expect(try Data(contentsOf: URL(fileURLWithPath: node.statePath)) == recorded, "nothing recorded is lost")
        #expect(AgentRunTests.knownGood(node) == ["42.1"])
        // Room again: the decision is taken whole, once.
        try FileManager.default.removeItem(atPath: node.stateDir + "/filler")
        #expect(await waitUntil(30) { (try? await node.defaultVersion()) == "42.1" }, "\(node.log)")
        // The rollback is recorded when the driver reports it applied, just after the boot order changed.
        #expect(await waitUntil(10) { AgentRunTests.rollbacks(node) == 1 }, "\(node.log)")
        try await Task.sleep(for: .seconds(1))
        #expect(AgentRunTests.rollbacks(node) == 1, "taken once")
        node.stop()
    }

    @Test func aStateFileReplacedByASymlinkIsNeverReadNorWrittenThrough() async throws {
        let node = try await AgentNode.knownGoodOn421()
        let target = node.root + "/passwd"
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        try passwd.write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: node.statePath)
        try FileManager.default.createSymbolicLink(atPath: node.statePath, withDestinationPath: target)
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(10) { node.log.contains("is a symbolic link") }, "\(node.log)")
        try await Task.sleep(for: .seconds(2))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == passwd, "never written through")
        await #expect(try node.defaultVersion() == "42.2", "nothing acted on")
        let names = try FileManager.default.contentsOfDirectory(atPath: node.stateDir)
        let aside = try #require(names.first { $0.hasPrefix("state.json.corrupt-") })
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: node.stateDir + "/" + aside) == target, "the link itself is moved aside")
        #expect(!names.contains("state.json"), "no fresh memory is written")
        node.stop()
    }

    @Test func aCommandCheckThatLeavesAChildBehindIsKilledWithItsGroup() async throws {
        let marker = "977\(Int.random(in: 100...999))"
        let node = try await AgentNode(booting: "42.1", extraConfig: """
            [[check]]
            name = "forks"
            kind = "command"
            command = ["/bin/sh", "-c", "sleep \(marker) & sleep \(marker)"]
            interval = "100ms"
            timeout = "300ms"
            required = false
            """)
        func leftOver() async -> Int {
            let out = (try? await Shell.run(["pgrep", "-f", "sleep \(marker)"]))?.stdout ?? ""
            return out.split(separator: "\n").count
        }
        try node.start()
        // 20 rounds: the history keeps the last 20 results.
        #expect(await waitUntil(30) {
            let checks = await Self.status(node)?["checks"] as? [[String: Any]]
            return (checks?.first { $0["name"] as? String == "forks" }?["history"] as? [Any])?.count == 20
        }, "\(node.log)")
        await #expect(leftOver() <= 2, "only the current round's program and child may run")
        await node.terminate()
        #expect(await waitUntil(5) { await leftOver() == 0 }, "no process is left after 20 rounds")
    }

    @Test func fdsAndMemoryStayFlatOverTenThousandRounds() async throws {
        let listener = try CountingTCPListener()
        let checks = (1...25).map { i in
            """
            [[check]]
            name = "tcp-\(i)"
            kind = "tcp"
            address = "127.0.0.1:\(listener.port)"
            interval = "100ms"
            timeout = "1s"
            required = false
            """
        }.joined(separator: "\n")
        let node = try await AgentNode(booting: "42.1", extraConfig: checks)
        try node.start()
        let pid = try #require(node.agent?.pid)
        func fds() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }
        func rssKiB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        #expect(await waitUntil(60) { listener.count >= 1_000 }, "\(node.log)")
        let warm = (rounds: listener.count, fds: fds(), rss: rssKiB())
        #expect(await waitUntil(180) { listener.count >= 10_000 }, "only \(listener.count) rounds:\n\(node.log)")
        let end = (rounds: listener.count, fds: fds(), rss: rssKiB())
        print("rounds \(warm.rounds) -> \(end.rounds): fds \(warm.fds) -> \(end.fds), RSS \(warm.rss) KiB -> \(end.rss) KiB")
        #expect(end.fds <= warm.fds + 2, "fds grew: \(warm.fds) -> \(end.fds)")
        #expect(end.rss - warm.rss < 4_096, "RSS grew by \(end.rss - warm.rss) KiB")
        node.stop()
    }
}

/// The metrics listener is a view: an address it cannot bind never takes the agent down.
@Suite struct MetricsListenerTests {
    @Test func anAddressInUseIsLoggedAndTheAgentKeepsWorking() async throws {
        let squatter = try CountingTCPListener()
        let node = try await AgentNode(booting: "42.1", extraConfig: "[metrics]\nlisten = \"127.0.0.1:\(squatter.port)\"\n")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        #expect(node.log.contains("cannot listen for metrics on 127.0.0.1:\(squatter.port)"), "\(node.log)")
        #expect(await node.waitServing())
        node.stop()
    }

    @Test func itServesMetricsAndNothingElse() async throws {
        let port = freePort()
        let node = try await AgentNode(booting: "42.1", extraConfig: "[metrics]\nlisten = \"127.0.0.1:\(port)\"\n")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        func get(_ method: String, _ path: String) async throws -> (code: String, body: String) {
            let out = try await Shell.run(["curl", "-s", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"])
            let lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }
        let metrics = try await get("GET", "/metrics")
        #expect(metrics.code == "200" && metrics.body.contains(#"rearguard_assessment_state{state="good"} 1.0"#), "\(metrics)")
        await #expect(try get("GET", "/v1/status").code == "404")
        await #expect(try get("POST", "/metrics").code == "405")
        node.stop()
    }
}
