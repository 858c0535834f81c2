#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import SystemPackage
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The agent's API: HTTP/1.1 with JSON on a local Unix socket, served with SwiftNIO (STYLE K2: a `Service`).
///
/// Run it in the daemon's `ServiceGroup` beside the agent; it calls `onReady` once the socket accepts connections
/// (the daemon sends `READY=1` from there) and stops on graceful shutdown: it stops accepting, lets requests in
/// flight finish, closes idle connections and removes the socket.
///
/// Reads (`GET`) are open to whoever may connect (socket `0660`, folder `0750`, both in `[api] group` when set);
/// changes (`POST`) need uid 0, checked with `SO_PEERCRED` before the request's body is read.
public final class APIServer: Service, Sendable {
    /// Bounds that keep one client from costing the agent much.
    public struct Limits: Sendable, Equatable {
        /// The largest request head (request line and headers), in bytes.
        public var headerBytes = 16 * 1024
        /// The most header fields one request may carry.
        public var headerFields = 64
        /// The largest request body, in bytes (`POST /v1/mode` needs a few dozen).
        public var bodyBytes = 4 * 1024
        /// A request must arrive complete within this of the connection opening or the previous answer.
        public var requestTimeout = Duration.seconds(10)
        /// Connections served at once; more are closed as they arrive.
        public var connections = 256

        /// The defaults.
        public init() {}
    }

    let socketPath: String
    let group: String?
    let endpoint: any AgentEndpoint
    let logger: Logger
    let onReady: @Sendable () -> Void
    let limits: Limits
    let eventLoopGroup: any EventLoopGroup
    let sharedMetrics: PrometheusCollectorRegistry?
    let open = NIOLockedValueBox(OpenConnections())
    let statusCache = EncodedCache<StatusDocument>()

    /// Creates the server.
    /// - Parameters:
    ///   - socketPath: `[api] socket`; a stale socket there is replaced, a live one is a startup error.
    ///   - group: `[api] group`, the group that may read; nil: root only. A group that does not exist fails `run()`.
    ///   - endpoint: the running agent.
    ///   - logger: where the server logs.
    ///   - limits: request bounds.
    ///   - eventLoopGroup: the NIO threads that do the socket work.
    ///   - metrics: a registry whose metrics `/metrics` shows after the status-derived ones (e.g. the one the daemon
    ///     bootstraps swift-metrics with); nil: none.
    ///   - onReady: called once, when the socket accepts connections.
    public init(
        socketPath: String, group: String?, endpoint: any AgentEndpoint, logger: Logger, limits: Limits = Limits(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metrics: PrometheusCollectorRegistry? = nil, onReady: @escaping @Sendable () -> Void = {}
    ) {
        self.socketPath = socketPath
        self.group = group
        self.endpoint = endpoint
        self.logger = logger
        self.limits = limits
        self.eventLoopGroup = eventLoopGroup
        self.sharedMetrics = metrics
        self.onReady = onReady
    }

    /// Serves until graceful shutdown (or cancellation); throws when the socket cannot be set up.
    public func run() async throws {
        let gid = try group.map(Self.groupID)
        try prepareFolder(gid: gid)
        try removeStaleSocket()
        let limits = self.limits
        let open = self.open
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            // A client that shuts down its sending side after the request (`nc -N`, scripts) still gets its answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: socketPath) { channel in
                PeerCredentials.read(channel).flatMapThrowing { peer in
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
                    try sync.addHandler(JSONProtocolErrorHandler())
                    try sync.addHandler(RequestDeadlineHandler(timeout: TimeAmount(limits.requestTimeout)))
                    let id = ObjectIdentifier(channel)
                    let admitted = open.withLockedValue { $0.admit(id, channel, limit: limits.connections) }
                    channel.closeFuture.whenComplete { _ in open.withLockedValue { $0.remove(id) } }
                    if !admitted { channel.close(promise: nil) }
                    return Connection(
                        channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), peer: peer, isAdmitted: admitted)
                }
            }
        do {
            try setSocketMode(gid: gid)
        } catch {
            try? await server.channel.close()
            throw error
        }
        logger.info("api listening", metadata: ["socket": "\(socketPath)", "group": "\(group ?? "-")"])
        onReady()
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                await withDiscardingTaskGroup { tasks in
                    do {
                        for try await connection in connections where connection.isAdmitted {
                            tasks.addTask { await self.serve(connection) }
                        }
                    } catch {
                        logger.error("api stopped accepting", metadata: ["error": "\(error)"])
                    }
                }
            }
        } onGracefulShutdown: { [open, logger] in
            logger.info("api stopping")
            server.channel.close(promise: nil)
            // NIO's HTTP pipeline closes an idle connection at once and a busy one after its current answer.
            for channel in open.withLockedValue({ $0.channels }) {
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
        if unlink(socketPath) != 0 && errno != ENOENT {
            logger.warning("cannot remove the socket", metadata: ["socket": "\(socketPath)", "errno": "\(errno)"])
        }
        logger.info("api stopped")
    }

    // MARK: - The socket and its folder

    /// Creates the socket's folder `0750` (in the group) when it is missing; an existing folder is left as it is,
    /// because it may be shared (`/tmp`, `/run`).
    private func prepareFolder(gid: gid_t?) throws(APIError) {
        let folder = FilePath(socketPath).removingLastComponent().string
        guard !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) else { return }
        // Parents as `mkdir -p` makes them; only the socket's own folder carries the access rule.
        try? FileManager.default.createDirectory(
            atPath: FilePath(folder).removingLastComponent().string, withIntermediateDirectories: true)
        guard mkdir(folder, 0o750) == 0 || errno == EEXIST else {
            throw APIError(.setup, "cannot create the socket folder \(folder): \(Self.errnoText())", errno: errno)
        }
        if let gid, chown(folder, uid_t.max, gid) != 0 {
            throw APIError(.setup, "cannot give the socket folder \(folder) to group \(group ?? ""): \(Self.errnoText())", errno: errno)
        }
        // mkdir's mode passes through the umask; the folder's mode is part of the access rule, so set it exactly.
        guard chmod(folder, 0o750) == 0 else {
            throw APIError(.setup, "cannot set mode 0750 on \(folder): \(Self.errnoText())", errno: errno)
        }
    }

    /// Removes a socket left by an agent that died; refuses when an agent still answers on it.
    private func removeStaleSocket() throws(APIError) {
        var info = stat()
        guard lstat(socketPath, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw APIError(.setup, "\(socketPath) exists and is not a socket")
        }
        if Self.answers(socketPath) {
            throw APIError(.setup, "another agent serves \(socketPath)")
        }
        guard unlink(socketPath) == 0 || errno == ENOENT else {
            throw APIError(.setup, "cannot remove the stale socket \(socketPath): \(Self.errnoText())", errno: errno)
        }
    }

    /// Sets the socket `0660` in the group. Until then the folder (`0750`, or the admin's own) guards it.
    private func setSocketMode(gid: gid_t?) throws(APIError) {
        if let gid, chown(socketPath, uid_t.max, gid) != 0 {
            throw APIError(.setup, "cannot give \(socketPath) to group \(group ?? ""): \(Self.errnoText())", errno: errno)
        }
        guard chmod(socketPath, 0o660) == 0 else {
            throw APIError(.setup, "cannot set mode 0660 on \(socketPath): \(Self.errnoText())", errno: errno)
        }
    }

    /// The id of a group by name (`getgrnam_r`).
    static func groupID(_ name: String) throws(APIError) -> gid_t {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let rc = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else {
            throw APIError(.setup, "api group \(name) does not exist (set [api] group to an existing group or remove it)")
        }
        return entry.gr_gid
    }

    /// Whether something accepts connections on a Unix socket path.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// One accepted connection with the kernel's word on who made it.
struct Connection: Sendable {
    var channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    var peer: PeerCredentials?
    var isAdmitted: Bool
}

/// The connections open now, for the connection limit and for closing them at shutdown.
struct OpenConnections: Sendable {
    private(set) var byID: [ObjectIdentifier: any Channel] = [:]

    var channels: [any Channel] { Array(byID.values) }

    /// Counts the connection in when there is room.
    mutating func admit(_ id: ObjectIdentifier, _ channel: any Channel, limit: Int) -> Bool {
        guard byID.count < limit else { return false }
        byID[id] = channel
        return true
    }

    mutating func remove(_ id: ObjectIdentifier) { byID[id] = nil }
}
