#if canImport(Glibc)
import Glibc
#endif
import APITestSupport
import Foundation
import Logging
import RearguardAPI
import ServiceLifecycle
import Testing
import TestSupport

/// The socket's setup and the graceful stop.
@Suite(.serialized) struct ServerLifecycleTests {
    @Test func theSocketIs0660AndItsFolder0750InTheGroup() async throws {
        try await LiveServer.with(group: "nogroup") { live in
            var socket = stat(), folder = stat()
            #expect(stat(live.socket, &socket) == 0 && stat((live.socket as NSString).deletingLastPathComponent, &folder) == 0)
            #expect(socket.st_mode & 0o777 == 0o660 && folder.st_mode & 0o777 == 0o750)
            #expect(socket.st_gid == 65534 && folder.st_gid == 65534)
        }
    }

    @Test func aMissingGroupIsAClearStartupError() async throws {
        do {
            try await LiveServer.with(group: "rearguard-no-such-group") { _ in }
            Issue.record("the server started with a missing group")
        } catch let error as APIError {
            #expect(error.code == .setup && error.message.contains("rearguard-no-such-group does not exist"), "\(error)")
        }
    }

    @Test func aStaleSocketIsReplacedAndALiveOneRefused() async throws {
        let folder = scratchDir("api-stale")
        let path = folder + "/rearguard.sock"
        // A socket file nobody listens on any more, as a killed agent leaves it.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: path))

        let (ready, signal) = AsyncStream.makeStream(of: Void.self)
        let logger = Logger(label: "test")
        let first = APIServer(socketPath: path, group: nil, endpoint: FixtureAgent(), logger: logger, onReady: { signal.yield() })
        let services = ServiceGroup(services: [first], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var it = ready.makeAsyncIterator()
            _ = await it.next()
            let answer = try await curl(path, ["http://localhost/v1/status"])
            #expect(answer.status == 200)
            // A second server on the same socket refuses to steal it.
            let second = APIServer(socketPath: path, group: nil, endpoint: FixtureAgent(), logger: logger)
            await #expect(throws: APIError.self) { try await second.run() }
            let still = try await curl(path, ["http://localhost/v1/status"])
            #expect(still.status == 200)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed on stop")
    }

    @Test func gracefulShutdownClosesIdleConnectionsAtOnce() async throws {
        var limits = APIServer.Limits()
        limits.requestTimeout = .seconds(30)  // so only the shutdown can close the idle connection quickly
        let folder = scratchDir("api-stop")
        let path = folder + "/rearguard.sock"
        let (ready, signal) = AsyncStream.makeStream(of: Void.self)
        let logger = Logger(label: "test")
        let server = APIServer(socketPath: path, group: nil, endpoint: FixtureAgent(), logger: logger, limits: limits, onReady: { signal.yield() })
        let services = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var it = ready.makeAsyncIterator()
            _ = await it.next()
            let idle = try RawClient(path, receiveTimeout: 5)
            idle.send(Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let first = try await offPool { idle.readResponse()?.status }
            #expect(first == 200)
            let started = Date()
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(Date().timeIntervalSince(started) < 3, "stopped in \(Date().timeIntervalSince(started)) s")
            let closed = try await offPool { idle.readAll().closed }
            #expect(closed)
        }
    }
}
