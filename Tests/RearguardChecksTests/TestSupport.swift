#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import RearguardCore

/// A failure that names what to install, so a missing server never turns into a skipped test.
struct MissingTool: Error, CustomStringConvertible {
    let tool: String
    let package: String
    var description: String { "\(tool) not found: apt-get install \(package) (listed in scripts/deps-checks.txt)" }
}

struct CommandFailed: Error, CustomStringConvertible {
    let description: String
}

/// Finds a server binary or fails loudly with its apt package (STYLE T5).
func requireTool(_ name: String, package: String) throws -> String {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
    throw MissingTool(tool: name, package: package)
}

/// Runs a command to completion and returns its exit status and output.
@discardableResult
func sh(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let result = (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    if check && result.0 != 0 { throw CommandFailed(description: "\(args.joined(separator: " ")) exited \(result.0): \(result.2)") }
    return result
}

/// A server process started by a test and stopped when the test drops it.
final class ServerProcess {
    let process = Process()
    let log: String

    init(_ args: [String], log: String) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: args[0])
        process.arguments = Array(args.dropFirst())
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: children of the test process inherit a blocked SIGTERM from the runtime's threads.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The server's log so far, for failure messages.
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// A port that was free a moment ago on 127.0.0.1 for both UDP and TCP.
func freePort() -> UInt16 {
    for _ in 0..<50 {
        let port = UInt16.random(in: 20_000...59_000)
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

/// A UDP socket bound on loopback that receives and never answers: a hung target.
final class SilentUDP {
    let fd: Int32
    let port: UInt16
    init() {
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

/// Polls `condition` until it holds or `seconds` pass.
func waitUntil(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// A scratch directory for one test.
func scratchDir(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "rearguard-\(tag)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
