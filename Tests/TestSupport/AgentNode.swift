import Foundation
import Glibc

/// A simulated node for the real `rearguard run` process: a real OSTree sysroot, a kernel command line and boot id
/// the test controls (a "reboot" is a new boot id plus the command line of the boot loader's first entry), a state
/// folder, the host's /run and Zincati's drop-in folder, and a required `command` check whose service the test
/// breaks or mends by removing or creating a file.
public final class AgentNode {
    /// The sysroot (versions deployed in order, the last one first in boot order).
    public let sysroot: SysrootFixture
    /// Everything else lives here.
    public let root: String
    /// The agent's config folder.
    public let configDir: String
    /// `[host] state_dir`.
    public var stateDir: String { root + "/state" }
    /// The state file.
    public var statePath: String { stateDir + "/state.json" }
    /// `[host] host_run`.
    public var hostRun: String { root + "/host-run" }
    /// `[host] zincati_config_dir`.
    public var zincatiDir: String { hostRun + "/zincati/config.d" }
    /// The Zincati hold drop-in.
    public var holdPath: String { zincatiDir + "/99-rearguard-hold.toml" }
    /// `[host] boot_id`.
    public var bootIDPath: String { root + "/boot_id" }
    /// `[host] cmdline`.
    public var cmdlinePath: String { root + "/cmdline" }
    /// The node's config file.
    public var configPath: String { configDir + "/10-node.toml" }
    /// `[api] socket`.
    public var socketPath: String { root + "/api/rearguard.sock" }
    /// While this file exists the required check passes.
    public var servicePath: String { root + "/service-up" }
    /// The bus the agent talks to (a missing socket by default: no bus).
    public var busAddress: String
    /// The running agent, if any.
    public private(set) var agent: ServerProcess?
    /// Put before the agent's command line (e.g. `ip netns exec NS ...` for a node in a namespace).
    public var launcher: [String] = []
    /// The version booted last (by `boot`).
    public private(set) var bootedVersion: String?
    private var logCount = 0

    /// Builds the node; `extraConfig` is appended to the config file (TOML).
    public init(
        versions: [String] = ["42.1", "42.2"], booting: String, soak: String = "1s", driver: String = "ostree",
        busAddress: String? = nil, extraConfig: String = ""
    ) async throws {
        sysroot = try await SysrootFixture(versions: versions)
        root = sysroot.scratch + "/node"
        configDir = root + "/config.d"
        self.busAddress = busAddress ?? "unix:path=\(sysroot.scratch)/no-bus.sock"
        for dir in [root, configDir, stateDir, hostRun, zincatiDir] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let config = """
            [host]
            sysroot = "\(sysroot.path)"
            cmdline = "\(cmdlinePath)"
            boot_id = "\(bootIDPath)"
            state_dir = "\(stateDir)"
            host_run = "\(hostRun)"
            zincati_config_dir = "\(zincatiDir)"

            [assessment]
            mode = "enforce"
            soak = "\(soak)"
            max_reboots_per_day = 1

            [api]
            socket = "\(socketPath)"

            [rollback]
            driver = "\(driver)"
            transaction_timeout = "5s"

            [[check]]
            name = "service"
            kind = "command"
            command = ["/bin/test", "-e", "\(servicePath)"]
            interval = "200ms"
            timeout = "2s"
            failure_threshold = 2
            required = true

            \(extraConfig)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try boot(version: booting)
        serviceUp = true
    }

    /// A node whose 42.1 proved good (soak passed, `wait-verdict` 0), then rebooted into the update 42.2, with the
    /// agent stopped: the start of every rollback story. Throws, with the agent's log, when a step does not happen.
    public static func knownGoodOn421(
        soak: String = "1s", busAddress: String? = nil, driver: String = "ostree", extra: String = ""
    ) async throws -> AgentNode {
        let node = try await AgentNode(booting: "42.1", soak: soak, driver: driver, busAddress: busAddress, extraConfig: extra)
        try node.start()
        guard await waitUntil(20, { node.recordedState() == "good" }) else {
            node.stop()
            throw ShellError(message: "42.1 never became good:\n\(node.log)")
        }
        let verdict = try await node.waitVerdict()
        node.stop()
        guard verdict.status == 0 else { throw ShellError(message: "wait-verdict on a good 42.1 exited \(verdict.status): \(verdict.stderr)") }
        let booted = try await node.rebootIntoDefault()
        guard booted == "42.2" else { throw ShellError(message: "the reboot after 42.1 booted \(booted), not 42.2") }
        return node
    }

    /// Rewrites the config file, replacing `text` (which must be there) with `replacement`.
    public func editConfig(replacing text: String, with replacement: String) throws {
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
        guard config.contains(text) else { throw ShellError(message: "\(configPath) has no \(text.debugDescription)") }
        try config.replacingOccurrences(of: text, with: replacement).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Whether the checked service answers.
    public var serviceUp: Bool {
        get { FileManager.default.fileExists(atPath: servicePath) }
        set {
            if newValue {
                _ = FileManager.default.createFile(atPath: servicePath, contents: Data())
            } else {
                try? FileManager.default.removeItem(atPath: servicePath)
            }
        }
    }

    /// A new boot of `version`: a fresh boot id and the command line that boots it.
    public func boot(version: String) throws {
        try boot(argument: try sysroot.bootArgument(version: version))
        bootedVersion = version
    }

    /// A new boot of the deployment at `index` in boot order, named by its own boot loader entry.
    public func boot(index: Int) async throws {
        try boot(argument: try sysroot.bootArgument(index: index))
        bootedVersion = try await sysroot.adminStatus()[index].version
    }

    private func boot(argument: String) throws {
        try (UUID().uuidString.lowercased() + "\n").write(toFile: bootIDPath, atomically: true, encoding: .utf8)
        let line = "BOOT_IMAGE=(hd0,gpt3)/boot/vmlinuz rw \(argument) console=ttyS0\n"
        try line.write(toFile: cmdlinePath, atomically: true, encoding: .utf8)
    }

    /// The version the boot loader starts next: the first entry of `ostree admin status`.
    public func defaultVersion() async throws -> String? { try await sysroot.adminStatus().first?.version }

    /// A reboot as the boot loader does it: a new boot of whatever is first in boot order.
    public func rebootIntoDefault() async throws -> String {
        guard let version = try await defaultVersion() else { throw ShellError(message: "the sysroot lists no deployment") }
        try boot(version: version)
        return version
    }

    /// Starts `rearguard run`; `failpoint` names a step at which it stops itself (REARGUARD_FAILPOINT).
    public func start(failpoint: String? = nil) throws {
        stop()
        logCount += 1
        var args = launcher + ["/usr/bin/env", "DBUS_SYSTEM_BUS_ADDRESS=\(busAddress)"]
        if let failpoint { args.append("REARGUARD_FAILPOINT=\(failpoint)") }
        args += [try Shell.rearguardBinary(), "run", "--config-dir", configDir]
        agent = try ServerProcess(args, log: root + "/agent-\(logCount).log")
    }

    /// Stops the agent as systemd does at shutdown (SIGTERM: a graceful stop).
    public func terminate() async {
        await agent?.terminate()
        agent = nil
    }

    /// SIGKILLs the agent (no chance to clean up), like a crash or a power cut.
    public func stop() {
        agent?.stop()
        agent = nil
    }

    /// The agent's log of the current run.
    public var log: String { agent?.output ?? "" }

    /// Every agent log of this node, in order.
    public var allLogs: String {
        (1...max(1, logCount)).map { (try? String(contentsOfFile: root + "/agent-\($0).log", encoding: .utf8)) ?? "" }
            .joined(separator: "\n--- restart ---\n")
    }

    /// Whether the agent process stopped itself (SIGSTOP at a failpoint).
    public var isStopped: Bool {
        guard let pid = agent?.pid,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    /// The state file as JSON, or nil.
    public func state() -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: statePath),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["memory"] as? [String: Any]
    }

    /// The assessment state recorded for the current boot id, or nil.
    public func recordedState() -> String? {
        guard let current = state()?["current"] as? [String: Any],
              let boot = try? String(contentsOfFile: bootIDPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              current["boot_id"] as? String == boot
        else { return nil }
        return current["state"] as? String
    }

    /// Runs an admin command (`status`, `hold`, ...) of the real CLI against this node's agent.
    public func cli(_ arguments: [String]) async throws -> ProcessOutput {
        try await Shell.run([try Shell.rearguardBinary()] + arguments + ["--socket", socketPath])
    }

    /// Waits until the agent's socket answers `rearguard status`.
    public func waitServing(_ seconds: Double = 20) async -> Bool {
        await waitUntil(seconds) { await ((try? cli(["status", "--json"]))?.status ?? 69) != 69 }
    }

    /// Runs `rearguard wait-verdict` once with a short timeout; returns its exit status and output.
    public func waitVerdict(timeout: String = "1s") async throws -> ProcessOutput {
        try await Shell.run([try Shell.rearguardBinary(), "wait-verdict", "--config-dir", configDir, "--timeout", timeout, "--interval", "100ms"])
    }
}
