// Servers and processes for the check and CLI tests: started with posix_spawn and reaped with waitpid,
// so no Foundation run loop spins under Swift concurrency.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Posix
import Synchronization

/// A failure that names what to install, so a missing server never turns into a skipped test.
public struct MissingTool: Error, CustomStringConvertible {
    public let tool: String
    public let package: String
    public init(tool: String, package: String) {
        self.tool = tool
        self.package = package
    }
    public var description: String { "\(tool) not found: apt-get install \(package) (scripts/deps installs it)" }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Finds a server binary or fails loudly with its apt package (STYLE T5).
public func requireTool(_ name: String, package: String) throws -> String {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
    throw MissingTool(tool: name, package: package)
}

/// Runs a command to completion and returns its exit status and output (stdout and stderr together, as written).
@discardableResult
public func sh(_ args: [String], check: Bool = true) async throws -> (status: Int32, out: String) {
    let done = try await Spawn.run(args, stderr: .stdout)
    let out = String(decoding: done.output, as: UTF8.self)
    if check && done.status != .exited(0) {
        throw CommandFailed(description: "\(args.joined(separator: " ")) exited \(done.status.code): \(out)")
    }
    return (done.status.code, out)
}

/// A server process started by a test and killed when the test drops it.
public final class ServerProcess {
    public let pid: pid_t
    public let log: String
    private var running = true

    public init(_ args: [String], log: String, environment: [String: String] = [:]) throws {
        self.log = log
        pid = try Spawn.start(args, environment: environment, stdout: .file(log), stderr: .stdout).pid
    }

    /// Whether it still runs (reaps it, without blocking, when it has exited).
    public var isRunning: Bool {
        guard running else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            running = false
            exitStatus = ExitStatus(waitStatus: status)
        }
        return running
    }

    /// How it ended, once it has been reaped.
    public private(set) var exitStatus: ExitStatus?

    /// SIGKILL and reap: waits only for the kernel to tear the killed process down, so a test that stops a server
    /// sees its ports closed at once.
    public func stop() {
        guard running else { return }
        running = false
        kill(pid, SIGKILL)
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        exitStatus = r == pid ? ExitStatus(waitStatus: status) : .unknown
    }

    /// SIGTERM, then waits up to `seconds` for the process to exit (SIGKILL after that); returns how it ended.
    @discardableResult
    public func terminate(within seconds: Double = 10) async -> ExitStatus? {
        guard running else { return exitStatus }
        kill(pid, SIGTERM)
        if let status = await waitExit(seconds) { return status }
        stop()
        return exitStatus
    }

    deinit { stop() }

    /// The server's log so far, for failure messages.
    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// A port that was free a moment ago on 127.0.0.1 for both UDP and TCP.
public func freePort() -> UInt16 {
    for _ in 0..<50 {
        let port = UInt16.random(in: 10_000...32_000)  // below the ephemeral range, so no client socket holds it
        if canBind(port, SOCK_DGRAM) && canBind(port, SOCK_STREAM) { return port }
    }
    return 0
}

private func canBind(_ port: UInt16, _ type: __socket_type) -> Bool {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}


/// Polls `condition` until it holds or `seconds` pass.
public func waitUntil(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// A scratch directory for one test.
public func scratchDir(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "rearguard-\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root, found from this file's path.
public let packageRoot = Shell.packageRoot.path

/// A UDP socket bound on loopback that receives and never answers: a hung target.
public final class SilentUDP {
    public let fd: Int32
    public let port: UInt16
    public init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                _ = bind(fd, sa, len)
                return getsockname(fd, sa, &len)
            }
        }
        port = UInt16(bigEndian: a.sin_port)
    }
    deinit { close(fd) }
}

/// A TCP listener on 127.0.0.1 that accepts and closes every connection and counts them: each TCP check round
/// against it is one connection, so the count is the number of rounds.
public final class CountingTCPListener: @unchecked Sendable {
    // SAFETY: `fd` and `port` are set once in init; the count is a Mutex; the accept thread only reads `fd`.
    public let port: UInt16
    private let fd: Int32
    private let counter = AcceptCount()

    private final class AcceptCount: Sendable {
        let value = Mutex(0)
    }

    public init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let ok = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 512) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw CommandFailed(description: "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))") }
        port = UInt16(bigEndian: a.sin_port)
        let started = PosixThread.detach(name: "test-accept") { [counter] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                close(c)
                counter.value.withLock { $0 += 1 }
            }
        }
        guard started else { throw CommandFailed(description: "no thread for the test listener's accept loop") }
    }

    /// Connections accepted so far.
    public var count: Int { counter.value.withLock { $0 } }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

extension ServerProcess {
    /// Waits up to `seconds` for the process to exit by itself; how it ended, or nil while it still runs.
    public func waitExit(_ seconds: Double) async -> ExitStatus? {
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while isRunning {
            guard ContinuousClock.now < end else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus
    }
}
