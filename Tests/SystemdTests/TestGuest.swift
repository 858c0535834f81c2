import DBus
import Foundation
import Logging
import Systemd
import Testing
import TestScopes
import TestSupport

/// The systemd guest that `scripts/testenv.sh up` boots; every test here talks to it for real.
enum TestGuest {
    static let base = ProcessInfo.processInfo.environment["REARGUARD_TESTENV"] ?? "/var/tmp/rearguard-testenv"
    static var socket: String { base + "/run/dbus/system_bus_socket" }
    static var address: String { "unix:path=" + socket }
    static var rootfs: String { base + "/rootfs" }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static var logger: Logger {
        var l = Logger(label: "systemd-tests")
        l.logLevel = .debug
        return l
    }

    /// A bus on the guest, after checking that its systemd answers; fails the test otherwise.
    static func bus() async throws -> Bus {
        guard FileManager.default.fileExists(atPath: socket) else {
            throw Missing(description: "no test systemd (no \(socket)): run scripts/testenv.sh up")
        }
        let bus = Bus(address: address, backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200)), logger: logger)
        // The socket stays while the guest reboots (an earlier test may have rebooted it): give
        // it the time a boot takes here (under 2 s), with a wide margin.
        let deadline = ContinuousClock.now + .seconds(30)
        var last = ""
        while ContinuousClock.now < deadline {
            do {
                let state = try await bus.systemState()
                if state == "running" || state == "degraded" { return bus }
                last = "state \(state)"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Missing(description: "no running test systemd at \(address) within 30 s (\(last)): run scripts/testenv.sh up")
    }

    /// Runs a host command; returns its exit status, stdout and stderr.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String, error: String) {
        let r = try await Shell.run(arguments, environment: environment)
        return (r.status, r.stdout, r.stderr)
    }

    /// The PID of the guest's systemd, for `nsenter`.
    static func leader() throws -> Int32 {
        let cgroup = try String(contentsOfFile: base + "/run/cgroup", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for h in ["unified", "systemd"] {
            let procs = "/sys/fs/cgroup/\(h)/\(cgroup)/payload/init.scope/cgroup.procs"
            if let text = try? String(contentsOfFile: procs, encoding: .utf8),
               let first = text.split(separator: "\n").first, let pid = Int32(first) {
                return pid
            }
        }
        throw Missing(description: "cannot find the guest's init in cgroup \(cgroup): run scripts/testenv.sh up")
    }

    /// Runs a command inside the guest (its mount, pid and net namespaces, its root).
    @discardableResult
    static func inGuest(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        try await run(["nsenter", "-t", String(try leader()), "-a", "-r", "-w"] + arguments)
    }

    /// Starts the host-built probe in the guest's pid namespace (host filesystem, guest bus).
    static func probe(inGuestPIDNamespace arguments: [String]) throws -> ServerProcess {
        let binary = packageRoot.appendingPathComponent(".build/debug/rearguard-systemd-probe").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Missing(description: "no probe at \(binary): run swift build --product rearguard-systemd-probe")
        }
        return try ServerProcess(
            ["nsenter", "-t", String(try leader()), "-p", "--", binary] + arguments, log: scratchDir("probe") + "/probe.log",
            environment: ["DBUS_SYSTEM_BUS_ADDRESS": address])
    }

    /// Reads a property with `busctl` (an observer independent of the code under test).
    static func busctlProperty(_ path: String, _ interface: String, _ name: String) async throws -> String {
        try await run(["busctl", "--address=\(address)", "get-property", "org.freedesktop.systemd1", path, interface, name]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The package root, from this file's path.
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Copies the static probe into the guest's /opt/rearguard; fails when scripts/test did not build it.
    static func installProbe() throws {
        let built = packageRoot.appendingPathComponent(".build/static/debug/rearguard-systemd-probe").path
        guard FileManager.default.isExecutableFile(atPath: built) else {
            throw Missing(description: "no static probe at \(built): run swift build --product rearguard-systemd-probe --static-swift-stdlib --build-path .build/static (scripts/test does)")
        }
        let target = rootfs + "/opt/rearguard/rearguard-systemd-probe"
        try? FileManager.default.createDirectory(atPath: rootfs + "/opt/rearguard", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: built, toPath: target)
    }
}

/// Collects a watch's events so a test can wait for one that matches, with a deadline.
actor EventLog {
    private(set) var events: [UnitWatchEvent] = []
    private var finished: (any Error)?
    private var isDone = false

    /// Starts consuming `stream` (the task ends when the stream does or the log is cancelled).
    static func start(_ stream: AsyncThrowingStream<UnitWatchEvent, any Error>) -> (EventLog, Task<Void, Never>) {
        let log = EventLog()
        let task = Task {
            do {
                for try await e in stream { await log.append(e) }
                await log.finish(nil)
            } catch {
                await log.finish(error)
            }
        }
        return (log, task)
    }

    func append(_ e: UnitWatchEvent) { events.append(e) }
    func finish(_ e: (any Error)?) {
        finished = e
        isDone = true
    }

    /// Waits for an event after index `from` that matches; returns it and its index.
    func wait(
        after from: Int = -1, timeout: Duration = .seconds(15), _ what: String,
        _ match: @Sendable (UnitWatchEvent) -> Bool
    ) async throws -> (event: UnitWatchEvent, index: Int) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for i in events.indices where i > from && match(events[i]) { return (events[i], i) }
            if isDone { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestGuest.Missing(description: "watch never delivered \(what) within \(timeout); got \(events.count) events, finished: \(String(describing: finished)); last: \(events.suffix(3))")
    }

    /// The state part of `e` for `unit`, if it is one.
    nonisolated static func state(_ e: UnitWatchEvent, _ unit: String) -> UnitStatus? {
        if case .state(let s) = e, s.unit == unit { return s }
        return nil
    }
}

/// All tests against the one guest, run one at a time: some mutate or reboot it.
@Suite(.serialized, .timeLimit(.minutes(2)), .testGuest)
struct GuestSystemdTests {}
