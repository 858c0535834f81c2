#if canImport(Glibc)
import Glibc
#endif
import APITestSupport
import Foundation
import Posix
import Logging
import RearguardAPI
import RearguardCore
import ServiceLifecycle
import TestSupport

/// An `APIServer` serving a `FixtureAgent` in this process on a socket in a fresh folder, inside a real
/// `ServiceGroup`, for the length of `body`; then a graceful shutdown, as the daemon does it.
struct LiveServer: Sendable {
    let socket: String
    let agent: FixtureAgent
    let folder: String

    static func with<T: Sendable>(
        state: Assessment.State = .good, group: String? = nil, limits: APIServer.Limits = testLimits,
        agent: FixtureAgent? = nil, _ body: @Sendable (LiveServer) async throws -> T
    ) async throws -> T {
        let base = scratchDir("api")
        // Others may traverse the base, so a non-root test user reaches the socket folder the server makes (0750).
        chmod(base, 0o755)
        let live = LiveServer(socket: base + "/run/rearguard.sock", agent: agent ?? FixtureAgent(state: state), folder: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        var logger = Logger(label: "rearguard.api-test")
        logger.logLevel = .warning
        let (ready, readySignal) = AsyncStream.makeStream(of: Void.self)
        let server = APIServer(
            socketPath: live.socket, group: group, endpoint: live.agent, logger: logger, limits: limits,
            onReady: { readySignal.yield() })
        let services = ServiceGroup(services: [server], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { readySignal.finish() }
                try await services.run()
            }
            var waiting = ready.makeAsyncIterator()
            guard await waiting.next() != nil else {
                try await tasks.waitForAll()  // rethrows why the server did not start
                throw RawError("the api server stopped before it was ready")
            }
            do {
                let result = try await body(live)
                await services.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Short deadlines so the slow-client tests run in seconds.
    static var testLimits: APIServer.Limits {
        var limits = APIServer.Limits()
        limits.requestTimeout = .seconds(1)
        return limits
    }
}

/// Runs blocking work (a blocking socket) on its own thread, never on the cooperative pool that the in-process
/// server's requests need.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await PosixThread.run(name: "test-off-pool", work)
}

/// Runs the built `rearguard` binary with `arguments` off the pool.
func rearguard(_ arguments: [String], asNobody: Bool = false) async throws -> ProcessOutput {
    let binary = try Shell.rearguardBinary()
    let prefix = asNobody ? try nobody() : []
    return try await Shell.run(prefix + [binary] + arguments)
}

/// Runs curl on the socket: returns the HTTP status and the body.
func curl(_ socket: String, _ arguments: [String], asNobody: Bool = false) async throws -> (status: Int, body: String) {
    _ = try requireTool("curl", package: "curl")
    let prefix = asNobody ? try nobody() : []
    let run = try await Shell.run(
        prefix + ["curl", "-sS", "--max-time", "20", "--unix-socket", socket, "-w", "\n%{http_code}"] + arguments)
    guard run.status == 0 else { throw RawError("curl \(arguments) exited \(run.status): \(run.stderr)") }
    var lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    let code = Int(lines.removeLast()) ?? -1
    return (code, lines.joined(separator: "\n"))
}

/// `setpriv` to uid/gid 65534 (nobody/nogroup) with no supplementary groups: a caller that is not root.
func nobody() throws -> [String] {
    _ = try requireTool("setpriv", package: "util-linux")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
}

/// Parses a JSON object or fails the test with the text.
func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw RawError("not a JSON object: \(text.prefix(300))")
    }
    return object
}

/// This process's resident set, in KiB, from /proc.
func residentKiB(pid: String = "self") -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
}
