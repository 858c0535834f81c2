import FoundationEssentials
import NIOConcurrencyHelpers
import NIOHTTP1

/// The last document of one kind and its encoding.
final class EncodedCache<T: Equatable & Sendable>: Sendable {
    private let last = NIOLockedValueBox<(value: T, bytes: [UInt8])?>(nil)

    init() {}

    /// The encoding of `value` when it equals the last one stored.
    func bytes(for value: T) -> [UInt8]? {
        last.withLockedValue { $0.flatMap { $0.value == value ? $0.bytes : nil } }
    }

    func store(_ value: T, _ bytes: [UInt8]) { last.withLockedValue { $0 = (value, bytes) } }
}

/// One answer of the API server: an HTTP head and its whole body.
struct APIResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    var extraHeaders: [(String, String)] = []
    /// Close the connection after this answer (the request body was not read, or the client asked).
    var close = false

    static let jsonType = "application/json"
    static let metricsType = "text/plain; version=0.0.4; charset=utf-8"

    /// A document encoded with the house JSON conventions, compact, ending in a newline.
    static func document<T: Encodable>(_ value: T) -> APIResponse {
        do {
            var bytes = [UInt8](try RearguardJSON.encoder(pretty: false).encode(value))
            bytes.append(UInt8(ascii: "\n"))
            return APIResponse(status: .ok, contentType: jsonType, body: bytes)
        } catch {
            return .error(.internal, "cannot encode the answer: \(error)")
        }
    }

    /// A document whose encoding is kept while it stays equal: status is asked for far more often than it changes,
    /// and comparing is much cheaper than encoding.
    static func document<T: Encodable & Equatable & Sendable>(_ value: T, cache: EncodedCache<T>) -> APIResponse {
        if let bytes = cache.bytes(for: value) { return APIResponse(status: .ok, contentType: jsonType, body: bytes) }
        let response = document(value)
        if response.status == .ok { cache.store(value, response.body) }
        return response
    }

    /// An `ErrorDocument` with the HTTP status of its code.
    static func error(
        _ code: ErrorDocument.Code, _ message: String, status: HTTPResponseStatus? = nil, close: Bool = false
    ) -> APIResponse {
        let text: String
        do {
            text = try RearguardJSON.string(ErrorDocument(code, message), pretty: false)
        } catch {
            text = #"{"error":{"code":"internal","message":"cannot encode an error"},"schema_version":1}"#
        }
        return APIResponse(
            status: status ?? HTTPResponseStatus(statusCode: code.httpStatus), contentType: jsonType,
            body: Array((text + "\n").utf8), close: close)
    }

    /// The answer to an `AgentRequestError`.
    static func error(_ error: AgentRequestError) -> APIResponse { .error(error.code, error.message) }

    /// The response head; `keepAlive` false adds `connection: close`.
    func head(keepAlive: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders([("content-type", contentType), ("content-length", String(body.count))])
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        if !keepAlive || close { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    /// The response head for a connection that is closed after it.
    var head: HTTPResponseHead { head(keepAlive: false) }
}
