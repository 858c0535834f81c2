import Foundation
import Testing
import TestSupport

/// Issue 12: three nodes, each in a network namespace of its own with its own sysroot, boot ids, machine id and
/// `rearguard run` (FleetLock on, the metrics listener on its address); a FleetLock server (one slot per group) and a
/// real Prometheus in a hub namespace. The test plays Zincati and the boot loader: Zincati takes the slot before an
/// update boot, gives it back once the boot gate opens, and does nothing while held.
@Suite(.serialized) struct FleetTests {
    /// Releases whose required check fails when booted.
    static let broken: Set<String> = ["42.2", "42.4"]

    final class Fleet {
        let net: FleetNetwork
        let server: FleetLockServerProcess
        let prometheus: PrometheusProcess
        let nodes: [AgentNode]
        let scratch: String
        private let start = Date()
        private(set) var timeline: [String] = []
        /// Per node: waiting for the boot gate after a boot Zincati (or Rearguard) asked for.
        var awaitingGate: [Bool]

        init() async throws {
            let scratch = scratchDir("fleet")
            self.scratch = scratch
            let net = try await FleetNetwork(nodes: 3)
            self.net = net
            let server = try await FleetLockServerProcess(hub: net.hub, folder: scratch)
            self.server = server
            var nodes: [AgentNode] = []
            for k in 1...3 {
                let machineID = scratch + "/machine-id-\(k)"
                try (UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + "\n")
                    .write(toFile: machineID, atomically: true, encoding: .utf8)
                let zincatiDir = scratch + "/zincati-\(k)"
                try FileManager.default.createDirectory(atPath: zincatiDir, withIntermediateDirectories: true)
                let url = "http://\(net.hubAddress(k)):\(server.port)/"
                // Node 3 follows Zincati's own drop-in; nodes 1 and 2 say it in [fleet].
                let fleet: String
                if k == 3 {
                    try """
                        [identity]
                        group = "site-dns"
                        [updates]
                        strategy = "fleet_lock"
                        [updates.fleet_lock]
                        base_url = "\(url)"
                        """.write(toFile: zincatiDir + "/55-update-strategy.toml", atomically: true, encoding: .utf8)
                    fleet = "[fleet]\nretry_max = \"2s\"\nzincati_config_dirs = [\"\(zincatiDir)\"]"
                } else {
                    fleet = "[fleet]\nstrategy = \"fleet_lock\"\nbase_url = \"\(url)\"\ngroup = \"site-dns\"\nretry_max = \"2s\"\n"
                        + "zincati_config_dirs = [\"\(zincatiDir)\"]"
                }
                let node = try await AgentNode(
                    booting: "42.1", soak: "1s", extraConfig: fleet + "\n[metrics]\nlisten = \"\(net.address(k)):9464\"\n")
                try node.editConfig(replacing: "max_reboots_per_day = 1", with: "max_reboots_per_day = 5")
                node.launcher = net.launcher(k, machineID: machineID)
                nodes.append(node)
            }
            self.nodes = nodes
            awaitingGate = Array(repeating: false, count: nodes.count)
            prometheus = try await PrometheusProcess(hub: net.hub, folder: scratch, targets: (1...3).map { "\(net.address($0)):9464" })
        }

        func mark(_ event: String) {
            let t = String(format: "%6.1f s", Date().timeIntervalSince(start))
            let states = nodes.map { "\($0.bootedVersion ?? "-")/\($0.recordedState() ?? "-")" }.joined(separator: "  ")
            timeline.append("\(t)  [\(states)]  \(event)")
        }

        func status(_ i: Int) async -> [String: Any]? { await AgentHardeningTests.status(nodes[i]) }
        func nodeID(_ i: Int) async -> String? { (await status(i)?["fleet"] as? [String: Any])?["node_id"] as? String }

        /// Zincati's FleetLock call for node i, from inside its namespace; the HTTP status.
        func zincati(_ i: Int, _ operation: String) async throws -> Int {
            guard let id = await nodeID(i) else { return 0 }
            let body = #"{"client_params": {"id": "\#(id)", "group": "site-dns"}}"#
            let out = try await net.run(in: net.node(i + 1), [
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "fleet-lock-protocol: true",
                "-d", body, "http://\(net.hubAddress(i + 1)):\(server.port)/v1/\(operation)",
            ])
            return Int(out.stdout) ?? 0
        }

        /// The boot loader: node i boots whatever is first in boot order; its service works unless the release is
        /// broken.
        func reboot(_ i: Int, _ why: String) async throws {
            let node = nodes[i]
            await node.terminate()
            let version = try await node.rebootIntoDefault()
            node.serviceUp = !FleetTests.broken.contains(version)
            try node.start()
            awaitingGate[i] = true
            mark("node\(i + 1) boots \(version) (\(why))")
        }

        /// One round of Zincati and the boot loader on every node.
        func step() async throws {
            for i in nodes.indices {
                let node = nodes[i]
                // Rearguard asked for a reboot (it does so only once it holds the slot): the node reboots.
                if node.log.contains("rebooting:") {
                    try await reboot(i, "Rearguard's reboot")
                    continue
                }
                let held = FileManager.default.fileExists(atPath: node.holdPath)
                if awaitingGate[i] {
                    guard (try? await node.waitVerdict(timeout: "200ms").status) == 0 else { continue }
                    awaitingGate[i] = false
                    // Zincati starts once boot-complete.target is reached; held, it does nothing.
                    if !held {
                        let code = try await zincati(i, "steady-state")
                        mark("node\(i + 1) Zincati steady-state: \(code)")
                    }
                    continue
                }
                guard !held, let next = try await node.defaultVersion(), next != node.bootedVersion else { continue }
                let code = try await zincati(i, "pre-reboot")
                if code == 200 {
                    mark("node\(i + 1) Zincati pre-reboot for \(next): slot taken")
                    try await reboot(i, "Zincati's update")
                }
            }
        }

        /// Runs Zincati rounds until `done` or `seconds` pass.
        func run(_ seconds: Double, until done: () async -> Bool) async throws -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                try await step()
                if await done() { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return await done()
        }

        func deploy(_ version: String, on indices: [Int]) async throws {
            for i in indices { try await nodes[i].sysroot.add(osname: "fedora-coreos", versions: [version]) }
            mark("release \(version) deployed on " + indices.map { "node\($0 + 1)" }.joined(separator: ", "))
        }

        func stopAll() { for node in nodes { node.stop() } }
    }

    @Test func aBadReleaseStopsAtTheFirstNodeAndTheFleetIsSeenInPrometheus() async throws {
        let fleet = try await Fleet()
        defer {
            fleet.stopAll()
            print("fleet timeline:\n" + fleet.timeline.joined(separator: "\n"))
        }
        // A: 42.1 known good everywhere; B (42.2, broken) is the next release in every node's boot order.
        for node in fleet.nodes { try node.start() }
        #expect(await waitUntil(30) { fleet.nodes.allSatisfy { $0.recordedState() == "good" } },
                "\(fleet.nodes.map(\.log).joined(separator: "\n---\n"))")
        var ids: [String?] = []
        for i in 0..<3 { ids.append(await fleet.nodeID(i)) }
        #expect(Set(ids.compactMap { $0 }).count == 3, "each node has its own id: \(ids)")
        fleet.mark("A (42.1) good on all three; B (42.2) next")

        // 1. B rolls out: node 1 takes the slot, fails, rolls back and keeps the slot; nodes 2 and 3 never boot B.
        let stopped = try await fleet.run(90) {
            fleet.nodes[0].bootedVersion == "42.1" && fleet.nodes[0].recordedState() == "rolled-back"
                ? ((await fleet.status(0)?["fleet"] as? [String: Any])?["slot_held"] as? Bool) == true : false
        }
        #expect(stopped, "node 1 did not end rolled back holding the slot:\n\(fleet.nodes[0].allLogs)")
        fleet.mark("node1 rolled back, holds the slot")
        _ = try await fleet.run(5) { false }  // Zincati keeps trying on nodes 2 and 3
        #expect(fleet.nodes[1].bootedVersion == "42.1" && fleet.nodes[2].bootedVersion == "42.1", "B reached another node")
        let refused = fleet.server.entries().filter { $0["op"] as? String == "pre-reboot" && $0["result"] as? String == "failed_lock" }
        #expect(Set(refused.compactMap { $0["id"] as? String }) == Set([ids[1], ids[2]].compactMap { $0 }), "\(refused)")
        let seen = await waitUntil(30) {
            let bad = await fleet.prometheus.query(#"rearguard_bad_release{version="42.2"}"#)
            let rolled = await fleet.prometheus.query(#"rearguard_assessment_state{state="rolled-back"} == 1"#)
            return bad.map(\.labels["instance"]) == ["\(fleet.net.address(1)):9464"]
                && rolled.map(\.labels["instance"]) == ["\(fleet.net.address(1)):9464"]
        }
        #expect(seen, "Prometheus does not show node 1 rolled back with 42.2 bad:\n\(fleet.prometheus.log.suffix(2000))")
        let firing = await waitUntil(30) {
            await fleet.prometheus.alerts().contains { $0.name == "RearguardNodeRolledBack" && $0.instance == "\(fleet.net.address(1)):9464" && $0.state == "firing" }
        }
        let alerts = await fleet.prometheus.alerts()
        #expect(firing, "the rolled-back alert did not fire: \(alerts)")
        await #expect(!fleet.prometheus.query(#"rearguard_fleet_lock_held == 1"#).isEmpty)
        fleet.mark("Prometheus: node1 rolled back, 42.2 bad, RearguardNodeRolledBack firing")

        // 2. The admin releases node 1; C (42.3) rolls out: the three take turns and end good.
        let release = try await fleet.nodes[0].cli(["release"])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(await waitUntil(10) { fleet.server.entries().last?["op"] as? String == "steady-state" })
        fleet.mark("admin: rearguard release on node1 (slot given back)")
        let mark = fleet.server.entries().count
        try await fleet.deploy("42.3", on: [0, 1, 2])
        let rolledOut = try await fleet.run(120) {
            fleet.nodes.allSatisfy { $0.bootedVersion == "42.3" && $0.recordedState() == "good" }
                && fleet.awaitingGate.allSatisfy { !$0 }
        }
        #expect(rolledOut, "C did not reach every node:\n\(fleet.timeline.joined(separator: "\n"))")
        let rollout = fleet.server.entries().dropFirst(mark)
        #expect(rollout.allSatisfy { ($0["holders"] as? [Any])?.count ?? 0 <= 1 }, "two nodes held the slot at once")
        let taken = rollout.filter { $0["op"] as? String == "pre-reboot" && $0["result"] as? String == "ok" }.compactMap { $0["id"] as? String }
        #expect(taken.count == 3 && Set(taken).count == 3, "each node took the slot once, in turn: \(taken)")
        fleet.mark("C (42.3) good on all three, one at a time")

        // 3. D (42.4, broken) on node 1, and the FleetLock server down when node 1 must reboot after its rollback.
        try await fleet.deploy("42.4", on: [0])
        let onD = try await fleet.run(30) { fleet.nodes[0].bootedVersion == "42.4" }
        #expect(onD)
        fleet.server.stop()
        fleet.mark("FleetLock server down")
        let waiting = await waitUntil(30) {
            let f = await fleet.status(0)?["fleet"] as? [String: Any]
            return f?["want"] as? String == "reboot" && (f?["last_error"] as? [String: Any])?["kind"] as? String == "unreachable"
        }
        #expect(waiting, "node 1 does not wait for the slot:\n\(fleet.nodes[0].log)")
        try await Task.sleep(for: .seconds(5))
        #expect(!fleet.nodes[0].log.contains("rebooting:"), "node 1 rebooted without the slot")
        #expect(await waitUntil(20) { await !fleet.prometheus.query(#"rearguard_fleet_lock_error{kind="unreachable"} == 1"#).isEmpty })
        fleet.mark("node1 rolled back to 42.3, waits for the slot (unreachable), no reboot")
        try await fleet.server.start()
        fleet.mark("FleetLock server back")
        #expect(await waitUntil(30) { fleet.nodes[0].log.contains("rebooting:") }, "\(fleet.nodes[0].log)")
        #expect(AgentCrashTests.count(fleet.nodes[0].log, "rebooting:") == 1)
        let back = try await fleet.run(30) { fleet.nodes[0].bootedVersion == "42.3" && fleet.nodes[0].recordedState() == "rolled-back" }
        #expect(back, "\(fleet.nodes[0].allLogs)")
        fleet.mark("node1 back on 42.3 after exactly one reboot")
    }
}
