import FoundationEssentials
import NIOCore
import NIOHTTP1

/// Answers a request the HTTP parser rejects with a JSON `bad_request` and lets the decoder close the connection,
/// as NIO's `HTTPServerProtocolErrorHandler` does with an empty 400 (STYLE E5: every error is a JSON document).
/// It stays silent when a response is under way, or when the broken request was already answered (the server may
/// refuse a request before reading its body), so a connection never gets two answers to one request.
final class JSONProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var hasUnterminatedResponse = false
    private var isRequestOpen = false
    private var isOpenRequestAnswered = false
    /// Set once this handler answered a parser error: the connection is closing, and an answer the server was still
    /// working out for the same request (it may answer from the head alone) must not follow as a second response.
    private var hasAnsweredError = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            isRequestOpen = true
            isOpenRequestAnswered = false
        case .body: break
        case .end:
            isRequestOpen = false
            isOpenRequestAnswered = false
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // The decoder closes the channel right after this returns, so answer now or never.
        if !hasUnterminatedResponse && !(isRequestOpen && isOpenRequestAnswered) {
            hasAnsweredError = true
            let response = APIResponse.error(.badRequest, "malformed http request (\(parserError))", close: true)
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.head(response.head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if hasAnsweredError {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200: break  // informational: the real answer follows
        case .head:
            hasUnterminatedResponse = true
            if isRequestOpen { isOpenRequestAnswered = true }
        case .body: break
        case .end: hasUnterminatedResponse = false
        }
        context.write(data, promise: promise)
    }
}

/// Closes a connection whose next request does not arrive complete within `timeout` of the connection opening or of
/// the previous response ending: a slow or idle client holds a connection only that long (slowloris).
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { disarm() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension JSONProtocolErrorHandler: Sendable {}

@available(*, unavailable)
extension RequestDeadlineHandler: Sendable {}
