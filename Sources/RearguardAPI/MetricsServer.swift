import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The opt-in TCP listener for Prometheus (`[metrics] listen = "ADDR:PORT"`): `GET /metrics` and nothing else (404 for
/// another path, 405 for another method), rendered from the status as on the API socket. Prometheus cannot scrape a
/// Unix socket; nothing that changes the node is reachable over TCP.
public struct MetricsServer: Service {
    let host: String
    let port: Int
    let endpoint: any AgentEndpoint
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    /// Creates the listener; `onBound` gets the port actually bound (useful with port 0).
    public init(host: String, port: Int, endpoint: any AgentEndpoint, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.endpoint = endpoint
        self.logger = logger
        self.onBound = onBound
    }

    /// Serves until a graceful shutdown. An address that cannot be bound (in use, not there yet at boot) is logged and
    /// tried again every 10 s: the metrics are a view, and their listener never takes the agent down with it.
    public func run() async throws {
        var logged = false
        while true {
            do {
                try await serve()
                return
            } catch let error as APIError where error.code == .setup {
                if !logged { logger.error("\(error.message); trying again every 10 s") }
                logged = true
                do {
                    try await waitBeforeRetry()
                } catch {
                    return  // shutting down
                }
            }
        }
    }

    /// Waits 10 s; throws when a graceful shutdown or cancellation comes first.
    private func waitBeforeRetry() async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(10)) }
        if Task.isCancelled || Task.isShuttingDownGracefully { throw CancellationError() }
    }

    private func serve() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPPartsOut>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPPartsOut>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw APIError(.setup, "cannot listen for metrics on \(host):\(port): \(error)")
        }
        let bound = server.channel.localAddress?.port ?? port
        logger.info("metrics listening", metadata: ["address": "\(host):\(bound)"])
        onBound(bound)
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                await withDiscardingTaskGroup { tasks in
                    do {
                        for try await connection in connections {
                            tasks.addTask { await serve(connection) }
                        }
                    } catch {
                        logger.error("metrics stopped accepting", metadata: ["error": "\(error)"])
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    typealias HTTPPartsOut = HTTPServerResponsePart

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPPartsOut>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await part in inbound {
                    guard case .head(let head) = part else { continue }
                    let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                    let (status, type, body): (HTTPResponseStatus, String, [UInt8])
                    if path != "/metrics" {
                        (status, type, body) = (.notFound, "text/plain", Array("only /metrics here\n".utf8))
                    } else if head.method != .GET && head.method != .HEAD {
                        (status, type, body) = (.methodNotAllowed, "text/plain", Array("GET only\n".utf8))
                    } else {
                        let document = await endpoint.status()
                        (status, type, body) = (.ok, APIResponse.metricsType, MetricsRenderer.render(document, shared: nil))
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "content-type", value: type)
                    headers.add(name: "content-length", value: String(body.count))
                    headers.add(name: "connection", value: "close")
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponseHead(version: head.version, status: status, headers: headers)),
                        .body(.byteBuffer(ByteBuffer(bytes: head.method == .HEAD ? [] : body))),
                        .end(nil),
                    ])
                    return
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }
}
