import Foundation

/// The systemd guest `scripts/testenv.sh up` boots, seen from tests that run the real agent binary against it.
public enum GuestSystem {
    /// `REARGUARD_TESTENV`, default `/var/tmp/rearguard-testenv`.
    public static let base = ProcessInfo.processInfo.environment["REARGUARD_TESTENV"] ?? "/var/tmp/rearguard-testenv"
    /// The guest's system bus socket on the host.
    public static var socket: String { base + "/run/dbus/system_bus_socket" }
    /// Its address.
    public static var address: String { "unix:path=" + socket }

    /// Boots recorded by the guest's `rearguard-test-boots.service` (scripts/testenv/configure-guest.sh).
    public static func boots() -> Int {
        let text = (try? String(contentsOfFile: base + "/rootfs/var/lib/rearguard-test/boots", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").count
    }

    /// `busctl get-property` on systemd's manager, or nil when the guest does not answer.
    public static func systemState() async -> String? {
        guard let out = try? await Shell.run([
            "busctl", "--address=\(address)", "--timeout=2", "get-property", "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "SystemState",
        ]), out.status == 0 else { return nil }
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the guest runs (after a reboot it comes back within a second or two); throws naming the fix.
    public static func waitRunning(_ seconds: Double = 30) async throws {
        guard FileManager.default.fileExists(atPath: socket) else {
            throw ShellError(message: "no test systemd (no \(socket)): run scripts/testenv.sh up (scripts/test does)")
        }
        let ok = await waitUntil(seconds) {
            guard let state = await systemState() else { return false }
            return state.contains("running") || state.contains("degraded")
        }
        guard ok else { throw ShellError(message: "the test systemd at \(address) is not running after \(Int(seconds)) s") }
    }

    /// Calls a method of systemd's manager with busctl (systemctl refuses to run on a host without systemd).
    @discardableResult
    public static func manager(_ method: String, _ signature: String, _ arguments: [String]) async throws -> String {
        try await Shell.check([
            "busctl", "--address=\(address)", "--timeout=5", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", method, signature,
        ] + arguments)
    }

    /// A unit's property, as busctl prints it (e.g. `s "active"`).
    public static func unitProperty(_ unit: String, _ name: String) async throws -> String {
        let loaded = try await manager("LoadUnit", "s", [unit])  // o "/org/freedesktop/systemd1/unit/..."
        let path = loaded.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
        return try await Shell.check([
            "busctl", "--address=\(address)", "--timeout=5", "get-property", "org.freedesktop.systemd1", path,
            "org.freedesktop.systemd1.Unit", name,
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Runs a command in all namespaces of the guest whose systemd is `pid`; `user` runs it as that user (`setpriv`).
func guestRun(pid: String, _ arguments: [String], user: String?) async throws -> ProcessOutput {
    var asUser: [String] = []
    if let user {
        let gid = try await Shell.run(["nsenter", "-t", pid, "-a", "--", "id", "-g", user]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !gid.isEmpty else { throw ShellError(message: "no user \(user) in the guest") }
        asUser = ["setpriv", "--reuid=\(user)", "--regid=\(gid)", "--init-groups", "--"]
    }
    return try await Shell.run(["nsenter", "-t", pid, "-a", "--"] + asUser + arguments)
}

/// The PID of the systemd of the test guest kept under `base` (scripts/testenv.sh), or nil while it is not up.
func guestLeader(base: String) -> String? {
    guard let cgroup = try? String(contentsOfFile: base + "/run/cgroup", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
    for hierarchy in ["unified", "systemd"] {
        let procs = "/sys/fs/cgroup/\(hierarchy)/\(cgroup)/payload/init.scope/cgroup.procs"
        if let text = try? String(contentsOfFile: procs, encoding: .utf8), let first = text.split(separator: "\n").first {
            return String(first)
        }
    }
    return nil
}
