import FoundationEssentials
import NIOCore
import NIOHTTP1

extension APIServer {
    /// Serves one connection's requests in order until the client or the server closes it. Errors end only this
    /// connection: a parser error was already answered by `JSONProtocolErrorHandler`.
    func serve(_ connection: Connection) async {
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    guard case .head(let head) = part else { continue }  // the rest of a request already answered
                    // nil: the request broke off and the parser's error handler has answered it.
                    guard let response = await answer(head, peer: connection.peer, parts: &parts) else { return }
                    let keepAlive = head.isKeepAlive && !response.close
                    try await outbound.write(contentsOf: [
                        .head(response.head(keepAlive: keepAlive)),
                        .body(.byteBuffer(ByteBuffer(bytes: response.body))),
                        .end(nil),
                    ])
                    if !keepAlive { return }
                }
            }
        } catch {
            logger.debug("api connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Checks one request's head, method and permission, reads its body within the limit and answers it. Answers
    /// that leave the body unread ask for the connection to be closed. nil when the body broke off: then
    /// `JSONProtocolErrorHandler` answered already, or the client is gone.
    private func answer(
        _ head: HTTPRequestHead, peer: PeerCredentials?,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    ) async -> APIResponse? {
        let headBytes = head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        guard headBytes <= limits.headerBytes else {
            return .error(.badRequest, "request head over \(limits.headerBytes) bytes", close: true)
        }
        guard head.headers.count <= limits.headerFields else {
            return .error(.badRequest, "more than \(limits.headerFields) header fields", close: true)
        }
        let route: APIRouter.Route
        switch APIRouter.route(method: head.method, uri: head.uri) {
        case .success(let found): route = found
        case .failure(let refusal): return refusal.response.closing()
        }
        // Who asks decides before a byte of the body is read.
        if route.isMutation && peer?.isRoot != true {
            return .error(.forbidden, "\(head.method) \(route.path) needs root (uid 0); you are uid \(peer.map { String($0.uid) } ?? "unknown")", close: true)
        }
        let lengths = head.headers["content-length"]
        if lengths.count > 1 || lengths.contains(where: { Int($0) == nil }) {
            return .error(.badRequest, "content-length is not one number", close: true)
        }
        if let length = lengths.first.flatMap({ Int($0) }), length > limits.bodyBytes {
            return .error(.badRequest, "request body over \(limits.bodyBytes) bytes", close: true)
        }
        var body = ByteBuffer()
        var isComplete = false
        do {
            readBody: while let part = try await parts.next() {
                switch part {
                case .head: return .error(.badRequest, "a request head inside a body", close: true)
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= limits.bodyBytes else {
                        return .error(.badRequest, "request body over \(limits.bodyBytes) bytes", close: true)
                    }
                    body.writeBuffer(&chunk)
                case .end:
                    isComplete = true
                    break readBody
                }
            }
            // The stream ended before the request did: the client hung up mid-body.
            if !isComplete { return nil }
        } catch {
            return nil
        }
        return await APIRouter.answer(route, body: body, endpoint: endpoint, metrics: sharedMetrics, statusCache: statusCache)
    }
}

extension APIResponse {
    /// The same answer with the connection closed after it (its body was not read).
    fileprivate func closing() -> APIResponse {
        var copy = self
        copy.close = true
        return copy
    }
}
