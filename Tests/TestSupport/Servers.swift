// Servers and processes for the check and CLI tests: started with posix_spawn and reaped with waitpid,
// so no Foundation run loop spins under Swift concurrency.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
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

/// Starts a program (looked up in PATH unless it has a slash) with stdout appended to `output` and stderr to
/// `errorOutput` (default: `output` too), default signals and an empty mask (the test runner's threads block
/// SIGTERM, which children would inherit).
public func spawn(_ args: [String], output: String, errorOutput: String? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    if let errorOutput {
        posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    } else {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, args[0], &actions, &attr, &argv, environ)
    guard rc == 0 else { throw CommandFailed(description: "cannot start \(args[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// Waits for a child without Foundation's run loop (which spins under Swift concurrency).
public func reap(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Runs a command to completion and returns its exit status and output (stdout and stderr together).
@discardableResult
public func sh(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
    let file = NSTemporaryDirectory() + "rearguard-sh-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let status = reap(try spawn(args, output: file))
    let out = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    if check && status != 0 { throw CommandFailed(description: "\(args.joined(separator: " ")) exited \(status): \(out)") }
    return (status, out)
}

/// A server process started by a test and killed when the test drops it.
public final class ServerProcess {
    public let pid: pid_t
    public let log: String
    private var isRunning = true

    public init(_ args: [String], log: String) throws {
        self.log = log
        pid = try spawn(args, output: log)
    }

    /// Records that the process was reaped elsewhere (nothing left to stop).
    func markExited() { isRunning = false }

    public func stop() {
        guard isRunning else { return }
        isRunning = false
        kill(pid, SIGKILL)
        _ = reap(pid)
    }

    /// SIGTERM, then waits up to `seconds` for the process to exit (SIGKILL after that); returns its wait status.
    @discardableResult
    public func terminate(within seconds: Double = 10) -> Int32 {
        guard isRunning else { return -1 }
        isRunning = false
        kill(pid, SIGTERM)
        let end = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while Date() < end {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return status }
            if r < 0 && errno != EINTR { return -1 }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        return reap(pid)
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
        let thread = Thread { [counter] in
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
        thread.start()
    }

    /// Connections accepted so far.
    public var count: Int { counter.value.withLock { $0 } }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

extension ServerProcess {
    /// Waits up to `seconds` for the process to exit by itself; its wait status, or nil while it still runs.
    public func waitExit(_ seconds: Double) async -> Int32? {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                markExited()
                return status
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
