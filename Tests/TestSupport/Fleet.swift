import Foundation

/// The network of a fleet test: a hub namespace (the FleetLock server, Prometheus) and one namespace per node, each
/// joined to the hub by a veth pair: node K is 10.231.K.2, the hub 10.231.K.1 on its side. Nothing leaves these
/// namespaces; the test reaches into them with `ip netns exec`. Removed in deinit.
public final class FleetNetwork {
    public let hub = "rgfleet-hub"
    public let count: Int

    public init(nodes: Int) async throws {
        count = nodes
        try await Shell.require("ip", package: "iproute2")
        for name in names { _ = try? await Shell.run(["ip", "netns", "del", name]) }  // what a crashed run left
        try await Shell.check(["ip", "netns", "add", hub])
        try await Shell.check(["ip", "-n", hub, "link", "set", "lo", "up"])
        for k in 1...nodes {
            let ns = node(k)
            try await Shell.check(["ip", "netns", "add", ns])
            try await Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
            try await Shell.check(["ip", "link", "add", "rgf-h\(k)", "netns", hub, "type", "veth", "peer", "name", "rgf-n\(k)", "netns", ns])
            try await Shell.check(["ip", "-n", hub, "addr", "add", "\(hubAddress(k))/24", "dev", "rgf-h\(k)"])
            try await Shell.check(["ip", "-n", hub, "link", "set", "rgf-h\(k)", "up"])
            try await Shell.check(["ip", "-n", ns, "addr", "add", "\(address(k))/24", "dev", "rgf-n\(k)"])
            try await Shell.check(["ip", "-n", ns, "link", "set", "rgf-n\(k)", "up"])
        }
    }

    deinit { teardown() }

    private var names: [String] { [hub] + (1...max(1, count)).map(node) }

    private func teardown() {
        for name in names { Shell.cleanup(["ip", "netns", "del", name]) }
    }

    /// Node K's namespace.
    public func node(_ k: Int) -> String { "rgfleet-n\(k)" }
    /// Node K's address (in its namespace).
    public func address(_ k: Int) -> String { "10.231.\(k).2" }
    /// The hub's address on node K's link.
    public func hubAddress(_ k: Int) -> String { "10.231.\(k).1" }

    /// The command prefix that runs a node's agent in its namespace with its own /etc/machine-id (a private mount
    /// namespace binds `machineID` over it), so each node has the id Zincati would send.
    public func launcher(_ k: Int, machineID: String) -> [String] {
        ["ip", "netns", "exec", node(k), "unshare", "--mount", "--propagation", "private",
         "sh", "-c", "mount --bind \"$0\" /etc/machine-id && exec \"$@\"", machineID]
    }

    /// Runs a command in namespace `ns`.
    public func run(in ns: String, _ arguments: [String]) async throws -> ProcessOutput {
        try await Shell.run(["ip", "netns", "exec", ns] + arguments)
    }
}

/// The FleetLock server fixture (Tests/Fixtures/fleetlock/fleetlock-server) in the hub: one slot per group, recursive
/// per node id, its locks in a file (a restart keeps them), every request a JSON line in its log.
public final class FleetLockServerProcess {
    public let folder: String
    public let port: Int
    private let hub: String?
    private var process: ServerProcess?

    /// A server in namespace `hub` on port 8080 of every address there, or, with no hub, on 127.0.0.1 at a free port.
    public init(hub: String?, folder: String) async throws {
        self.hub = hub
        self.folder = folder
        port = hub == nil ? Int(freePort()) : 8080
        try await start()
    }

    private var inHub: [String] { hub.map { ["ip", "netns", "exec", $0] } ?? [] }

    public var logPath: String { folder + "/fleetlock.jsonl" }

    public func start() async throws {
        let script = packageRoot + "/Tests/Fixtures/fleetlock/fleetlock-server"
        let listen = hub == nil ? "127.0.0.1:\(port)" : "0.0.0.0:\(port)"
        process = try ServerProcess(
            inHub + ["python3", script, "--listen", listen, "--state", folder + "/locks.json", "--log", logPath],
            log: folder + "/server.out")
        let probe = inHub + ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]
        let up = await waitUntil(5) { (try? await Shell.run(probe))?.status == 0 }
        if !up { throw ShellError(message: "the FleetLock server did not listen: \(process?.output ?? "")") }
    }

    public func stop() {
        process?.stop()
        process = nil
    }

    deinit { stop() }

    /// The server's log, one entry a request, in order.
    public func entries() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// A real Prometheus (Debian's package) in the hub, scraping the nodes every second with examples/prometheus's rules.
public final class PrometheusProcess {
    private let hub: String
    private let process: ServerProcess

    public init(hub: String, folder: String, targets: [String]) async throws {
        try await Shell.require("prometheus", package: "prometheus")
        self.hub = hub
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - \(packageRoot)/examples/prometheus/rearguard.rules.yml
            scrape_configs:
              - job_name: rearguard
                static_configs:
                  - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]
            """
        try config.write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)
        process = try ServerProcess(
            ["ip", "netns", "exec", hub, "prometheus", "--config.file=\(folder)/prometheus.yml",
             "--storage.tsdb.path=\(folder)/data", "--web.listen-address=127.0.0.1:9090"], log: folder + "/prometheus.log")
    }

    deinit { process.stop() }

    /// The log so far.
    public var log: String { process.output }

    /// `GET /api/v1/<path>` with form parameters, from inside the hub; the decoded `data`, or nil.
    public func api(_ path: String, _ parameters: [String: String] = [:]) async -> Any? {
        var args = ["curl", "-s", "-G", "http://127.0.0.1:9090/api/v1/\(path)"]
        for (k, v) in parameters { args += ["--data-urlencode", "\(k)=\(v)"] }
        guard let out = try? await Shell.run(["ip", "netns", "exec", hub] + args), out.status == 0,
              let object = try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any],
              object["status"] as? String == "success" else { return nil }
        return object["data"]
    }

    /// An instant query's result: each series' labels and value.
    public func query(_ expression: String) async -> [(labels: [String: String], value: String)] {
        guard let data = await api("query", ["query": expression]) as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { return [] }
        return result.map { series in
            let labels = series["metric"] as? [String: String] ?? [:]
            let value = (series["value"] as? [Any])?.last as? String ?? ""
            return (labels, value)
        }
    }

    /// The alerts Prometheus evaluates now (name, instance, state).
    public func alerts() async -> [(name: String, instance: String, state: String)] {
        guard let data = await api("alerts") as? [String: Any], let list = data["alerts"] as? [[String: Any]] else { return [] }
        return list.map { alert in
            let labels = alert["labels"] as? [String: String] ?? [:]
            return (labels["alertname"] ?? "", labels["instance"] ?? "", alert["state"] as? String ?? "")
        }
    }
}
