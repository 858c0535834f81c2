#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The stand-in rpm-ostreed (`Tests/Fixtures/rpm-ostreed/rpm-ostreed-standin`) on the test guest's real system bus,
/// over a real sysroot. Start it with `start(...)`; it is killed when dropped or on `stop()`.
public final class RpmOstreeStandIn {
    /// A fault the stand-in injects into every transaction.
    public enum Fault: String, Sendable {
        /// Transactions run normally.
        case none
        /// `Finished(false, faultMessage)` without touching the sysroot.
        case fail
        /// Started transactions never send `Finished`.
        case hang
        /// Started transactions wait `delay` seconds, then do their work and finish (even if the client left).
        case slow
        /// The daemon exits right after returning the transaction address (the client's connect is refused).
        case exitBeforeConnect = "exit-before-connect"
        /// The daemon exits once the client has connected to the transaction, before `Start`.
        case exitBeforeStart = "exit-before-start"
    }

    /// One line of the stand-in's JSON-lines log.
    public struct Record: CustomStringConvertible {
        /// `call`, `property`, `event` or `violation`.
        public var kind: String
        /// The method or property name (calls, properties, violations).
        public var member: String?
        /// The D-Bus interface (calls, properties).
        public var interface: String?
        /// The event name (events).
        public var event: String?
        /// The call's arguments, re-encoded as JSON with sorted keys, e.g. `[{"reboot":false}]`.
        public var arguments: String?
        /// Every field, as parsed.
        public var fields: [String: Any]
        public var description: String { String(describing: fields) }
    }

    /// The guest's system bus address.
    public let busAddress: String
    /// The folder the transaction socket is made in (what the client must rewrite `/run` to).
    public let hostRun: String
    /// The JSON-lines call log.
    public let logPath: String
    private let process: ServerProcess

    /// The fixture's path.
    public static var executable: String { packageRoot + "/Tests/Fixtures/rpm-ostreed/rpm-ostreed-standin" }

    /// The system bus of the guest `scripts/testenv.sh up` boots (`REARGUARD_TESTENV`); fails when it is not up.
    public static func guestBusAddress() throws -> String {
        let base = ProcessInfo.processInfo.environment["REARGUARD_TESTENV"] ?? "/var/tmp/rearguard-testenv"
        let socket = base + "/run/dbus/system_bus_socket"
        guard FileManager.default.fileExists(atPath: socket) else {
            throw CommandFailed(description: "no test systemd (no \(socket)): run scripts/testenv.sh up (with the same REARGUARD_TESTENV)")
        }
        return "unix:path=" + socket
    }

    /// Fails naming the Debian packages when `/usr/bin/python3` lacks PyGObject or the OSTree typelib.
    public static func requirePython() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw MissingTool(tool: "/usr/bin/python3", package: "python3")
        }
        let probe = "import gi; gi.require_version('OSTree', '1.0'); gi.require_version('Gio', '2.0'); from gi.repository import Gio, OSTree"
        let (status, out) = try await sh(["/usr/bin/python3", "-c", probe], check: false)
        guard status == 0 else {
            throw MissingTool(tool: "PyGObject with the OSTree typelib for /usr/bin/python3 (\(out.trimmingCharacters(in: .whitespacesAndNewlines)))",
                              package: "python3-gi gir1.2-glib-2.0 gir1.2-ostree-1.0")
        }
    }

    private init(busAddress: String, hostRun: String, logPath: String, process: ServerProcess) {
        self.busAddress = busAddress
        self.hostRun = hostRun
        self.logPath = logPath
        self.process = process
    }

    /// Starts the stand-in and waits until it owns `org.projectatomic.rpmostree1` on the guest's bus.
    /// - Parameters:
    ///   - sysroot: the OSTree sysroot it changes.
    ///   - runDirectory: the host `/run` holding `ostree/staged-deployment`.
    ///   - hostRun: where the transaction socket goes (default `runDirectory`, as in a container mounting the host's `/run`).
    ///   - booted: `CHECKSUM.SERIAL` of the booted deployment (default: the sysroot's default deployment).
    public static func start(
        sysroot: String, runDirectory: String, hostRun: String? = nil, booted: String? = nil,
        osname: String = "fedora-coreos", fault: Fault = .none, faultMessage: String? = nil, busAddress: String? = nil,
        delay: Double? = nil
    ) async throws -> RpmOstreeStandIn {
        try await requirePython()
        let bus = try busAddress ?? guestBusAddress()
        let hostRun = hostRun ?? runDirectory
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: hostRun, withIntermediateDirectories: true)
        let base = (runDirectory as NSString).deletingLastPathComponent + "/rpm-ostreed-\(UUID().uuidString.prefix(8))"
        let logPath = base + ".jsonl"
        var arguments = [
            "/usr/bin/python3", executable, "--bus", bus, "--sysroot", sysroot, "--run-dir", runDirectory,
            "--host-run", hostRun, "--log", logPath, "--osname", osname, "--fault", fault.rawValue,
        ]
        if let booted { arguments += ["--booted", booted] }
        if let faultMessage { arguments += ["--fault-message", faultMessage] }
        if let delay { arguments += ["--delay", String(delay)] }
        let standIn = RpmOstreeStandIn(
            busAddress: bus, hostRun: hostRun, logPath: logPath, process: try ServerProcess(arguments, log: base + ".out"))
        // The guest may still be booting (an earlier test rebooted it): the stand-in retries its connection for 30 s.
        let deadline = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < deadline {
            if standIn.records().contains(where: { $0.event == "ready" }) { return standIn }
            if standIn.hasExited {
                throw CommandFailed(description: "the stand-in rpm-ostreed exited before owning its name: \(standIn.process.output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandFailed(description: "the stand-in rpm-ostreed did not own org.projectatomic.rpmostree1 on \(bus) within 40 s: \(standIn.process.output)")
    }

    /// True once the process ended (a zombie until `stop()` reaps it, so its pid is never reused under us).
    public var hasExited: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[close...].dropFirst(2).first == "Z"
    }

    /// Kills it (the bus name goes with its connection).
    public func stop() { process.stop() }

    /// Its stdout and stderr so far.
    public var output: String { process.output }

    /// Every record of the log so far.
    public func records() -> [Record] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            var arguments: String?
            if let args = object["args"], let data = try? JSONSerialization.data(withJSONObject: args, options: [.sortedKeys]) {
                arguments = String(decoding: data, as: UTF8.self)
            }
            return Record(
                kind: object["kind"] as? String ?? "", member: object["member"] as? String,
                interface: object["interface"] as? String, event: object["event"] as? String, arguments: arguments, fields: object)
        }
    }

    /// The method calls received, in order, as `Member(arguments)`, e.g. `Rollback([{"reboot":false}])`.
    public func calls() -> [String] {
        records().filter { $0.kind == "call" }.map { "\($0.member ?? "?")(\($0.arguments ?? ""))" }
    }

    /// The names of the events logged, in order (`ready`, `transaction-created`, `transaction-cancelled`, ...).
    public func events() -> [String] {
        records().compactMap { $0.kind == "event" ? $0.event : nil }
    }

    /// The contract violations it refused.
    public func violations() -> [Record] {
        records().filter { $0.kind == "violation" }
    }
}
