import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request per connection through SwiftNIO's client pipeline, to a Unix socket (the agent's API) or a
/// TCP host (a FleetLock server, an HTTP check), optionally over TLS (swift-nio-ssl, the system's trust store).
public struct HTTP1Client: Sendable {
    /// Where the request goes.
    public enum Target: Sendable, CustomStringConvertible {
        /// A Unix socket path.
        case unix(String)
        /// A TCP host and port, with TLS when `tls` (the certificate must be valid for `host`).
        case tcp(host: String, port: Int, tls: Bool = false)

        public var description: String {
            switch self {
            case .unix(let path): path
            case .tcp(let host, let port, _): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    /// One raw answer.
    public struct Answer: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The body as sent, or its first `bodyLimit` bytes.
        public var body: [UInt8]
        /// Whether the body was longer than the caller's `bodyLimit` (the rest was not read).
        public var truncated = false
    }

    /// The target.
    public var target: Target
    /// How long a request may take (connect to the last byte of the answer).
    public var timeout: Duration
    private let eventLoopGroup: any EventLoopGroup

    /// Creates a client for `target`.
    public init(target: Target, timeout: Duration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.target = target
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }

    /// Sends one request and returns the status and body, whatever they are; `APIError` for transport failures
    /// (`.unreachable`, `.timeout`, `.badResponse`).
    /// With a `bodyLimit`, at most that many bytes of the body are kept and `truncated` says so; the rest is not read.
    public func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [], bodyLimit: Int = .max
    ) async throws -> Answer {
        let deadline = timeout
        return try await withThrowingTaskGroup(of: Answer?.self) { group in
            group.addTask { try await exchange(method, path, headers: headers, body: body, bodyLimit: bodyLimit) }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw APIError(.timeout, "\(target) did not answer \(path) within \(deadline)")
            }
            return answer
        }
    }

    private func exchange(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8], bodyLimit: Int
    ) async throws -> Answer {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let host: String
        do {
            let bootstrap = ClientBootstrap(group: eventLoopGroup).connectTimeout(TimeAmount(timeout))
            let tls: (context: NIOSSLContext, hostname: String?)?
            if case .tcp(let name, _, true) = target {
                tls = (try Self.tlsContext(), Self.isAddress(name) ? nil : name)
            } else {
                tls = nil
            }
            let setup: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.hostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                }
            }
            switch target {
            case .unix(let path):
                host = "localhost"
                channel = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: setup)
            case .tcp(let name, let port, _):
                host = name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)"
                channel = try await bootstrap.connect(host: name, port: port, channelInitializer: setup)
            }
        } catch let error as NIOSSLError {
            throw APIError(.unreachable, "cannot set up TLS to \(target): \(error)")
        } catch {
            let code = (error as? IOError)?.errnoCode
                ?? ((error as? NIOConnectionError)?.connectionErrors.lazy.compactMap { ($0.error as? IOError)?.errnoCode }.first)
            let reason = code.map { String(cString: strerror($0)) } ?? "\(error)"
            throw APIError(.unreachable, "cannot connect to \(target): \(reason)", errno: code)
        }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "host", value: host)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.add(name: "content-length", value: String(body.count))
            head.headers.add(name: "connection", value: "close")
            do {
                try await outbound.write(contentsOf: [
                    .head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil),
                ])
            } catch {
                // The channel closed before the request went out: the server hung up, or the TLS handshake failed
                // first (a task resumed late on a busy pool). Why it closed comes from the inbound side, read below,
                // not this write's bare "closed channel".
            }
            var status = 0
            var received = ByteBuffer()
            do {
                for try await part in inbound {
                    switch part {
                    case .head(let response): status = Int(response.status.code)
                    case .body(var chunk):
                        received.writeBuffer(&chunk)
                        if received.readableBytes > bodyLimit {
                            return Answer(status: status, body: Array(received.readableBytesView.prefix(bodyLimit)), truncated: true)
                        }
                    case .end: return Answer(status: status, body: Array(received.readableBytesView))
                    }
                }
            } catch let error where error is NIOSSLError || error is BoringSSLError {
                // A server that ends its answer by closing, without TLS's close_notify: what arrived is the answer.
                if case .uncleanShutdown? = error as? NIOSSLError, status != 0 { return Answer(status: status, body: Array(received.readableBytesView)) }
                throw APIError(.badResponse, "tls with \(target) failed: " + "\(error)".lowercased())
            }
            throw APIError(.badResponse, "\(target) closed the connection before answering \(path)")
        }
    }

    /// One TLS client context for the process, made on first use: it reads the system's trust store once.
    private static func tlsContext() throws -> NIOSSLContext {
        try sharedTLS.get()
    }

    private static let sharedTLS = Result { try NIOSSLContext(configuration: .makeClientConfiguration()) }

    private static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
