import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request per connection through SwiftNIO's client pipeline, to a Unix socket (the agent's API) or a
/// TCP host (a FleetLock server). Plain HTTP only.
public struct HTTP1Client: Sendable {
    /// Where the request goes.
    public enum Target: Sendable, CustomStringConvertible {
        /// A Unix socket path.
        case unix(String)
        /// A TCP host and port.
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    /// One raw answer.
    public struct Answer: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The body as sent.
        public var body: [UInt8]
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
    public func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> Answer {
        let deadline = timeout
        return try await withThrowingTaskGroup(of: Answer?.self) { group in
            group.addTask { try await exchange(method, path, headers: headers, body: body) }
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

    private func exchange(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]) async throws -> Answer {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let host: String
        do {
            let bootstrap = ClientBootstrap(group: eventLoopGroup).connectTimeout(TimeAmount(timeout))
            let setup: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                }
            }
            switch target {
            case .unix(let path):
                host = "localhost"
                channel = try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: setup)
            case .tcp(let name, let port):
                host = name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)"
                channel = try await bootstrap.connect(host: name, port: port, channelInitializer: setup)
            }
        } catch {
            let code = (error as? IOError)?.errnoCode
            let reason = code.map { String(cString: strerror($0)) } ?? "\(error)"
            throw APIError(.unreachable, "cannot connect to \(target): \(reason)", errno: code)
        }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "host", value: host)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.add(name: "content-length", value: String(body.count))
            head.headers.add(name: "connection", value: "close")
            try await outbound.write(contentsOf: [
                .head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil),
            ])
            var status = 0
            var received = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let response): status = Int(response.status.code)
                case .body(var chunk): received.writeBuffer(&chunk)
                case .end: return Answer(status: status, body: Array(received.readableBytesView))
                }
            }
            throw APIError(.badResponse, "\(target) closed the connection before answering \(path)")
        }
    }
}
