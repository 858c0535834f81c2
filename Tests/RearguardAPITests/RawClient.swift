#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A blocking Unix socket client that sends exact bytes, for requests no HTTP library would send.
// SAFETY: each test uses a client from one thread at a time; the descriptor is only closed in deinit.
final class RawClient: @unchecked Sendable {
    let fd: Int32

    init(_ path: String, receiveTimeout: Double = 3) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw RawError("connect \(path): \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends bytes; false when the server already closed (it may answer and close before a huge body is sent).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Ends the request side, as a client that has nothing more to say.
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads until the server closes, the timeout passes or `limit` bytes arrived.
    func readAll(limit: Int = 1 << 20) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out += chunk[0..<n]
        }
        return (out, false)
    }

    /// Reads one response with a content-length (keep-alive requests).
    func readResponse() -> HTTPAnswer? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let answer = HTTPAnswer(out), answer.isComplete { return answer }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return HTTPAnswer(out) }
            out += chunk[0..<n]
        }
    }
}

/// A response split into status, headers and body (only for checking the server's answers in tests).
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var isComplete: Bool

    init?(_ bytes: [UInt8]) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let code = Int(statusLine[1]) else { return nil }
        status = code
        headers = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        body = Array(bytes[(end + 4)...])
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        isComplete = body.count >= length
        if body.count > length { body = Array(body[0..<length]) }
    }

    /// The error code of an ErrorDocument body, or nil.
    var errorCode: String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              object["schema_version"] as? Int == 1, let error = object["error"] as? [String: Any],
              error["message"] is String
        else { return nil }
        return error["code"] as? String
    }
}

struct RawError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
