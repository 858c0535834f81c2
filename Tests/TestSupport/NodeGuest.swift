import Foundation

/// The node guest `REARGUARD_TESTENV_PROFILE=node scripts/testenv.sh up` boots: Debian 13 (systemd 257, podman 5 with
/// its Quadlet generator) laid down from `examples/node.bu`, Rearguard's image and the services' images in its storage,
/// a real OSTree sysroot at /sysroot and /boot. Tests drive it as an admin would, from inside (`nsenter`).
public enum NodeGuest {
    /// Every node guest booted for this run: `REARGUARD_NODES` (folders separated by `:`), else `REARGUARD_NODE`,
    /// else `/var/tmp/rearguard-node` (the node profile's `REARGUARD_TESTENV`).
    public static let bases: [String] = {
        let env = ProcessInfo.processInfo.environment
        let listed = (env["REARGUARD_NODES"] ?? "").split(separator: ":").map(String.init)
        return listed.isEmpty ? [env["REARGUARD_NODE"] ?? "/var/tmp/rearguard-node"] : listed
    }()
    /// The node guest the current suite was lent (the `.nodeGuest` trait sets it).
    @TaskLocal public static var assigned: String?
    /// The guest this task drives: the one lent to its suite, else the first.
    public static var base: String { assigned ?? bases[0] }
    /// The guest's root folder on the test machine (a directory: writing here writes the guest's files).
    public static var root: String { base + "/rootfs" }

    /// The PID of the guest's systemd, or nil while it is not up (between boots).
    public static func leader() -> String? { guestLeader(base: base) }

    /// Runs a command inside the guest, in all of its namespaces, as root (or as `user`).
    @discardableResult
    public static func run(_ arguments: [String], user: String? = nil) async throws -> ProcessOutput {
        guard let pid = leader() else {
            throw ShellError(
                message: "no node guest under \(base): run REARGUARD_TESTENV_PROFILE=node scripts/testenv.sh up (scripts/test does)")
        }
        return try await guestRun(pid: pid, arguments, user: user)
    }

    /// Runs a short cleanup command inside the guest from a `defer` or `deinit` (which cannot suspend; see
    /// `Shell.cleanup`); nothing happens while the guest is down.
    public static func cleanup(_ arguments: [String]) {
        guard let pid = leader() else { return }
        Shell.cleanup(["nsenter", "-t", pid, "-a", "--"] + arguments)
    }

    /// Runs a command inside the guest and throws when it exits non-zero.
    @discardableResult
    public static func check(_ arguments: [String]) async throws -> String {
        let output = try await run(arguments)
        guard output.status == 0 else {
            throw ShellError(message: "in the node: \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// `systemctl show -P PROPERTY UNIT` in the guest.
    public static func property(_ unit: String, _ name: String) async throws -> String {
        try await check(["systemctl", "show", "-P", name, unit]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The unit's journal of this boot, messages only.
    public static func journal(_ unit: String) async throws -> String {
        try await check(["journalctl", "-b", "--no-pager", "-o", "cat", "-u", unit])
    }

    /// `rearguard ARGS` on the node, the way README tells an admin to run it (the wrapper examples/node.bu installs).
    public static func rearguard(_ arguments: [String]) async throws -> ProcessOutput {
        try await run(["/usr/local/bin/rearguard"] + arguments)
    }

    /// The agent's status document (`rearguard status --json`), or nil when it does not answer.
    public static func status() async -> [String: Any]? {
        guard let output = try? await rearguard(["status", "--json"]), !output.stdout.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any]
    }

    /// The agent's assessment state, or nil when it does not answer.
    public static func state() async -> String? { await status()?["state"] as? String }

    /// `systemctl is-active UNIT` in the guest ("active", "activating", "inactive", "failed", ...).
    public static func activeState(_ unit: String) async -> String {
        ((try? await property(unit, "ActiveState")) ?? "unknown")
    }

    /// Waits until the guest's systemd answers (any state: the boot gate may hold `starting` for long).
    public static func waitUp(_ seconds: Double = 60) async throws {
        let ok = await waitUntil(seconds) {
            guard let out = try? await run(["systemctl", "is-system-running"]) else { return false }
            return !out.stdout.isEmpty && !out.stdout.contains("offline")
        }
        guard ok else { throw ShellError(message: "the node guest did not come up within \(Int(seconds)) s (see \(base)/run/console.log)") }
    }

    /// Reboots the guest from inside (`systemctl reboot`) and waits for the next boot's systemd.
    public static func reboot() async throws {
        let before = leader()
        _ = try? await run(["systemctl", "reboot"])
        let gone = await waitUntil(30) { leader() != before && leader() != nil }
        guard gone else { throw ShellError(message: "the node guest did not reboot within 30 s") }
        try await waitUp()
    }

    /// Waits until the agent's state is `expected`; throws with the last status seen.
    public static func waitState(_ expected: String, within seconds: Double = 60) async throws {
        let ok = await waitUntil(seconds) { await state() == expected }
        guard ok else {
            let seen = await (try? rearguard(["status"])).map { $0.stdout + $0.stderr } ?? "no answer"
            throw ShellError(message: "the agent did not reach \(expected) within \(Int(seconds)) s; status:\n\(seen)")
        }
    }

    /// Writes a file of the guest from the test machine (its rootfs is a plain folder).
    public static func write(_ path: String, _ text: String) throws {
        let url = URL(fileURLWithPath: root + path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Puts a shipped file back where examples/node.bu lays it.
    public static func restoreShipped(_ source: String, at path: String) throws {
        try write(path, String(contentsOfFile: packageRoot + "/" + source, encoding: .utf8))
    }

    /// Removes a file of the guest, if it is there.
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: root + path)
    }

    /// The agent's process (the container's main PID), or nil while there is none.
    public static func agentPID() async -> String? {
        guard let pid = try? await check(["podman", "inspect", "--format", "{{.State.Pid}}", "rearguard"])
            .trimmingCharacters(in: .whitespacesAndNewlines), pid != "0", !pid.isEmpty else { return nil }
        return pid
    }

    /// The shipped DNS config with gw.site.lan answering a wrong address: a DNS service that is up but wrong.
    public static func brokenDNSConfig() throws -> String {
        try String(contentsOfFile: packageRoot + "/quadlet/site/dnsmasq.conf", encoding: .utf8)
            .replacingOccurrences(of: "host-record=gw.site.lan,192.0.2.1", with: "host-record=gw.site.lan,192.0.2.99")
    }

    /// The boots the guest's `rearguard-test-boots.service` recorded (one boot id a line).
    public static func boots() -> [String] {
        let text = (try? String(contentsOfFile: root + "/var/lib/rearguard-test/boots", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// The two releases a fresh node has, oldest first (configure-node.sh); the newer one boots.
    public static let baseReleases = ["42.20251027.3.0", "42.20251110.3.0"]

    /// Deploys `version` on the node's sysroot with its own ostree, first in boot order, as an update's finalization
    /// leaves it; with `breakingDNS` the release carries a DNS config of its own whose answer is wrong.
    public static func deploy(_ version: String, breakingDNS: Bool = false) async throws {
        let extra = "/var/tmp/rearguard-test-tree-\(version)"
        try? FileManager.default.removeItem(atPath: root + extra)
        try FileManager.default.createDirectory(atPath: root + extra, withIntermediateDirectories: true)
        if breakingDNS {
            try write(extra + "/usr/lib/rearguard-test/dnsmasq-site.conf", try brokenDNSConfig())
        }
        try await check(["env", "EXTRA_TREE=" + extra, "/usr/local/libexec/make-sysroot.sh", "/sysroot", "fedora-coreos", version])
    }

    /// The versions on the node's sysroot in boot order.
    public static func deployedVersions() async throws -> [String] {
        try await check(["ostree", "admin", "status", "--sysroot=/sysroot"]).split(separator: "\n")
            .compactMap { line in
                guard let range = line.range(of: "Version:") else { return nil }
                return line[range.upperBound...].split(separator: " ").first.map(String.init)
            }
    }

    /// The stand-in rpm-ostreed's method calls on the node, in order, as `Member`.
    public static func rpmOstreedCalls() -> [String] {
        let text = (try? String(contentsOfFile: root + "/var/log/rpm-ostreed-standin.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["kind"] as? String == "call" else { return nil }
            return object["member"] as? String
        }
    }

    /// The node as examples/node.bu lays it down, on a fresh memory: the shipped files restored, test drop-ins
    /// removed, the agent's state folder emptied, rebooted, and the agent's verdict `good`.
    ///
    /// A guest that goes down while this works kills the command it runs (its shutdown SIGKILLs every process in its
    /// PID namespace, ours too). Then the reset waits for the next boot and starts over, once, saying on stderr what
    /// the guest's last boot logged about the reboot, so that the cause shows in the run.
    public static func reset() async throws {
        for attempt in 1...2 {
            let booted = leader()
            do {
                try await clearForReboot()
                break
            } catch let error as ShellError {
                let why = await interruption(since: booted)
                let message = "\(error.message)\n\(why.text)"
                guard why.rebooted, attempt == 1 else { throw ShellError(message: message) }
                FileHandle.standardError.write(Data("NodeGuest.reset on \(base) starts over: \(message)\n".utf8))
                try await waitUp()
            }
        }
        try await reboot()
        try await waitState("good", within: 90)
    }

    /// The agent stopped, the node's files and memory as shipped, the sysroot back to the two base releases.
    static func clearForReboot() async throws {
        // The stand-in rpm-ostreed too: a transaction of the agent's still under way would change the sysroot under
        // the rebuild below. The reboot starts both again.
        _ = try? await run(["systemctl", "stop", "rearguard.service", "rearguard-verdict.service", "rpm-ostreed.service"])
        try restoreShipped("quadlet/site/dnsmasq.conf", at: "/etc/dnsmasq.d/site.conf")
        for folder in ["/etc/rearguard/config.d", "/etc/containers/systemd/rearguard.container.d"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + folder)) ?? [] where name.hasPrefix("95-test-") {
                remove(folder + "/" + name)
            }
        }
        if !FileManager.default.fileExists(atPath: root + "/etc/rearguard/config.d/50-site.toml") {
            throw ShellError(message: "the node lost /etc/rearguard/config.d/50-site.toml: run scripts/testenv.sh up again")
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/var/lib/rearguard")) ?? [] {
            remove("/var/lib/rearguard/" + name)
        }
        remove("/var/log/rpm-ostreed-standin.jsonl")
        // A test that deployed releases leaves them: the sysroot is made again in place (its folder and /boot are
        // bind mounts of the node), the same two releases, the same checksums.
        if try await deployedVersions().count != baseReleases.count {
            try await check(["sh", "-c", "chattr -R -f -i /sysroot/ostree; find /sysroot -mindepth 1 -maxdepth 1 ! -name boot -exec rm -rf {} + "
                + "&& find /sysroot/boot -mindepth 1 -maxdepth 1 -exec rm -rf {} +"])
            try await check(["/usr/local/libexec/make-sysroot.sh", "/sysroot", "fedora-coreos"] + baseReleases)
        }
    }

    /// What may have killed a command in the guest: the previous boot's journal lines that name the reboot when the
    /// guest rebooted since `booted` (its init's PID then), else the kernel's OOM kills.
    static func interruption(since booted: String?) async -> (rebooted: Bool, text: String) {
        let now = leader()
        if now == nil || now != booted {
            _ = await waitUntil(60) { leader() != nil && leader() != booted }
            // Who asked for it: the agent's decision or a test's request, in the lines that name the reboot.
            let asked = (try? await run(["journalctl", "-b", "-1", "--no-pager", "-o", "short-monotonic", "--grep", "reboot"]))?.stdout ?? ""
            let lines = asked.split(separator: "\n").suffix(12).joined(separator: "\n")
            return (true, "the guest rebooted meanwhile; its previous boot's lines on the reboot:\n\(lines)")
        }
        let kernel = (try? await Shell.run(["dmesg"]))?.stdout ?? ""
        let kills = kernel.split(separator: "\n").filter { $0.contains("Killed process") || $0.contains("oom-kill") }.suffix(5)
        return (false, kills.isEmpty ? "the guest did not reboot and the kernel logged no OOM kill" : kills.joined(separator: "\n"))
    }
}
