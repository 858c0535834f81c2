import Foundation
import Testing
import TestSupport

/// The admin CLI and curl against the real `rearguard run` on a node's temporary socket.
@Suite(.serialized) struct AgentAPITests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func statusFollowsTheBootFromFirstBootToGoodWithItsExitCodes() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "2s")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        let early = try await node.cli(["status"])
        #expect(early.status == 3, "first boot is not decided yet: \(early.stdout)")
        #expect(early.stdout.hasPrefix("FIRST BOOT") || early.stdout.uppercased().hasPrefix("FIRST-BOOT") || early.stdout.hasPrefix("FIRST"), "\(early.stdout)")
        #expect(await waitUntil(20) { (try? await node.cli(["status"]).status) == 0 }, "\(node.log)")
        let status = try await node.cli(["status", "--json"])
        let doc = Self.json(status.stdout)
        #expect(doc["schema_version"] as? Int == 1)
        #expect(doc["state"] as? String == "good")
        #expect(doc["mode"] as? String == "enforce")
        #expect((doc["deployments"] as? [[String: Any]])?.count == 2)
        let checks = try #require(doc["checks"] as? [[String: Any]])
        #expect(checks.first?["name"] as? String == "service" && checks.first?["state"] as? String == "passing")
        #expect((doc["last_decision"] as? [String: Any])?["action"] as? String == "boot-marked-good")
        #expect(doc["updates_held"] as? Bool == false)
        // curl sees the same document.
        let curl = try await Shell.run(["curl", "-s", "--unix-socket", node.socketPath, "http://localhost/v1/status"])
        #expect(Self.json(curl.stdout)["state"] as? String == "good")
        let metrics = try await Shell.run(["curl", "-s", "--unix-socket", node.socketPath, "http://localhost/metrics"]).stdout
        #expect(metrics.contains(#"rearguard_assessment_state{state="good"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"rearguard_check_up{check="service"} 1"#))
        let history = await Self.json(try node.cli(["history", "--json"]).stdout)
        #expect((history["boots"] as? [[String: Any]])?.first?["state"] as? String == "good")
        node.stop()
    }

    @Test func holdReleaseAndModeChangeTheNodeAndSurviveARestart() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "1s")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        await #expect(try node.cli(["hold"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: node.holdPath))
        await #expect(try node.cli(["mode", "observe"]).status == 0)
        node.stop()
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        let doc = await Self.json(try node.cli(["status", "--json"]).stdout)
        #expect(doc["mode"] as? String == "observe", "the mode is kept in the state")
        #expect(doc["updates_held"] as? Bool == true)
        await #expect(try node.cli(["release"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: node.holdPath))
        await #expect(try node.cli(["mode", "enforce"]).status == 0)
        await #expect(Self.json(try node.cli(["status", "--json"]).stdout)["mode"] as? String == "enforce")
        await #expect(try node.cli(["mode", "sometimes"]).status == 64)
        node.stop()
    }

    @Test func releaseEndsAQuarantineAndTheChecksumIsOnlyObservedAfter() async throws {
        let node = try await AgentNode(versions: ["42.1", "42.2", "42.3"], booting: "42.1")
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "good" }, "\(node.log)")
        node.stop()
        try node.boot(version: "42.3")
        node.serviceUp = false
        try node.start()
        #expect(await waitUntil(20) { node.recordedState() == "quarantine" }, "\(node.log)")
        let quarantined = try await node.cli(["status"])
        #expect(quarantined.status == 1 && quarantined.stdout.hasPrefix("QUARANTINE"), "\(quarantined.stdout)")
        let explain = try await node.cli(["explain", "--json"])
        #expect(explain.stdout.contains("rearguard release"), "\(explain.stdout)")
        // The release answers with the state it left: probation, which lasts only until the failing check reaches
        // its threshold (two rounds of 200 ms), so it is read from the answer, not raced for in the state file.
        let released = try await node.cli(["release", "--json"])
        #expect(released.status == 0, "\(released.stderr)")
        let answer = try JSONSerialization.jsonObject(with: Data(released.stdout.utf8)) as? [String: Any]
        #expect(answer?["state"] as? String == "probation", "\(released.stdout)")
        #expect((node.state()?["observe_only"] as? [String])?.count == 1)
        // Only observed from now on: the check keeps failing and nothing is rolled back.
        #expect(await waitUntil(10) { node.recordedState() == "failing" }, "\(node.log)")
        await #expect(try node.defaultVersion() == "42.3", "the released checksum is never acted on")
        node.stop()
    }

    @Test func recheckRunsEveryCheckNow() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "1h")
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        node.serviceUp = false
        let out = try await node.cli(["recheck", "--json"])
        #expect(out.status == 1, "a required check fails: \(out.stdout)")
        let checks = try #require(Self.json(out.stdout)["checks"] as? [[String: Any]])
        #expect(((checks.first?["last"] as? [String: Any])?["status"] as? String) == "fail")
        node.stop()
    }

    @Test func aCallerWhoIsNotRootMayReadButNotChange() async throws {
        let node = try await AgentNode(booting: "42.2", soak: "1h")
        try node.editConfig(replacing: "[api]\n", with: "[api]\ngroup = \"nogroup\"\n")
        // The socket's folder chain must let the group through, as /run/rearguard does on a host.
        var dir = (node.socketPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = (node.sysroot.path as NSString).deletingLastPathComponent  // the fixture's own temporary folder
        while dir != base {
            dir = (dir as NSString).deletingLastPathComponent
            _ = chmod(dir, 0o755)
        }
        _ = try await Shell.run(["chgrp", "nogroup", (node.socketPath as NSString).deletingLastPathComponent])
        _ = chmod((node.socketPath as NSString).deletingLastPathComponent, 0o750)
        try node.start()
        #expect(await node.waitServing(), "\(node.log)")
        let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "curl", "-s"]
        let read = try await Shell.run(asNobody + ["--unix-socket", node.socketPath, "http://localhost/v1/status"])
        #expect(Self.json(read.stdout)["state"] as? String == "first-boot", "\(read.stdout) \(read.stderr)")
        let change = try await Shell.run(asNobody + ["-X", "POST", "--unix-socket", node.socketPath, "http://localhost/v1/hold"])
        let error = Self.json(change.stdout)["error"] as? [String: Any]
        #expect(error?["code"] as? String == "forbidden", "\(change.stdout)")
        #expect(!FileManager.default.fileExists(atPath: node.holdPath))
        node.stop()
    }

    @Test func noAgentMeansExit69WithAHint() async throws {
        let out = try await Shell.run([try Shell.rearguardBinary(), "status", "--socket", "/nonexistent/rearguard.sock"])
        #expect(out.status == 69)
        #expect(out.stderr.contains("systemctl start rearguard"), "\(out.stderr)")
    }
}
