import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOPosix
import RearguardCore

/// Asks the running agent over its Unix socket: one HTTP/1.1 request per connection, through SwiftNIO's HTTP client
/// pipeline. Agent refusals arrive as `AgentRequestError`; transport failures as `APIError`.
public struct AgentClient: Sendable {
    /// One raw answer (status and body).
    public typealias Answer = HTTP1Client.Answer

    /// The agent's socket.
    public var socketPath: String
    /// How long a request may take (connect to the last byte of the answer).
    public var timeout: Duration
    private let eventLoopGroup: any EventLoopGroup

    /// Creates a client for the agent on `socketPath`.
    public init(
        socketPath: String, timeout: Duration = .seconds(30),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }

    /// `GET /v1/status`.
    public func status() async throws -> StatusDocument { try await document(.GET, APIRoute.status) }
    /// `GET /v1/checks`.
    public func checks() async throws -> ChecksDocument { try await document(.GET, APIRoute.checks) }
    /// `GET /v1/history`.
    public func history() async throws -> HistoryDocument { try await document(.GET, APIRoute.history) }
    /// `GET /v1/deployments`.
    public func deployments() async throws -> DeploymentsDocument { try await document(.GET, APIRoute.deployments) }
    /// `GET /v1/explain`.
    public func explain() async throws -> ExplainDocument { try await document(.GET, APIRoute.explain) }
    /// `POST /v1/checks/run`: every check now; returns once the round is in.
    public func runChecks() async throws -> ChecksDocument { try await document(.POST, APIRoute.runChecks) }
    /// `POST /v1/hold`.
    public func hold() async throws -> StatusDocument { try await document(.POST, APIRoute.hold) }
    /// `POST /v1/release`.
    public func release() async throws -> StatusDocument { try await document(.POST, APIRoute.release) }
    /// `POST /v1/mode`.
    public func setMode(_ mode: AssessmentMode) async throws -> StatusDocument {
        try await document(.POST, APIRoute.mode, body: Array(RearguardJSON.encoder(pretty: false).encode(ModeRequest(mode: mode))))
    }

    /// Sends one request and decodes a 2xx answer as `T`; an `ErrorDocument` answer throws `AgentRequestError`.
    public func document<T: Decodable>(_ method: HTTPMethod, _ path: String, body: [UInt8] = []) async throws -> T {
        let answer = try await request(method, path, body: body)
        let decoder = RearguardJSON.decoder()
        guard (200..<300).contains(answer.status) else {
            if let error = try? decoder.decode(ErrorDocument.self, from: Data(answer.body)) {
                throw AgentRequestError(error.error.code, error.error.message)
            }
            throw APIError(.badResponse, "the agent on \(socketPath) answered \(answer.status) without an error document")
        }
        do {
            return try decoder.decode(T.self, from: Data(answer.body))
        } catch {
            throw APIError(.badResponse, "the agent on \(socketPath) answered \(path) with an unreadable document: \(error)")
        }
    }

    /// Sends one request and returns the status and body, whatever they are.
    public func request(_ method: HTTPMethod, _ path: String, body: [UInt8] = []) async throws -> Answer {
        try await HTTP1Client(target: .unix(socketPath), timeout: timeout, eventLoopGroup: eventLoopGroup)
            .request(method, path, body: body)
    }
}
