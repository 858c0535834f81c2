#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import RearguardCore

/// Why a probe got no usable answer; its `message` is what a `CheckResult` shows.
enum ProbeError: Error, Equatable {
    case timeout
    case refused
    case system(String, Int32)
    case bad(String)

    var message: String {
        switch self {
        case .timeout: "timeout"
        case .refused: "connection refused"
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))".lowercased()
        case .bad(let text): text
        }
    }
}

/// A resolved socket address (IPv4 or IPv6).
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 { Int32(storage.ss_family) }

    /// An IP literal and port; nil when `host` is not a literal.
    static func literal(_ host: String, port: UInt16) -> SocketAddress? {
        var a = SocketAddress()
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeBytes(of: v4) { src in withUnsafeMutableBytes(of: &a.storage) { $0.copyMemory(from: src) } }
            a.length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return a
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeBytes(of: v6) { src in withUnsafeMutableBytes(of: &a.storage) { $0.copyMemory(from: src) } }
            a.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            return a
        }
        return nil
    }

    /// A literal, or the first address getaddrinfo gives for a name (blocking: call on a probe thread).
    static func resolve(_ hp: HostPort) -> Result<SocketAddress, ProbeError> {
        if let a = literal(hp.host, port: hp.port) { return .success(a) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(hp.host, String(hp.port), &hints, &list)
        guard rc == 0, let first = list, let sa = first.pointee.ai_addr else {
            return .failure(.bad("cannot resolve \(hp.host): \(String(cString: gai_strerror(rc)).lowercased())"))
        }
        defer { freeaddrinfo(list) }
        var a = SocketAddress()
        withUnsafeMutableBytes(of: &a.storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(first.pointee.ai_addrlen)))
        }
        a.length = first.pointee.ai_addrlen
        return .success(a)
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// A non-blocking socket closed on deinit (STYLE C3).
final class Socket {
    let fd: Int32
    init(family: Int32, type: Int32) throws(ProbeError) {
        let fd = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        self.fd = fd
    }
    deinit { close(fd) }

    /// Waits until `events` are ready or the deadline passes.
    func wait(_ events: Int16, until deadline: ContinuousClock.Instant) throws(ProbeError) {
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .timeout }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let ms = max(1, Int32(min(ConfigDuration.milliseconds(remaining) + 1, Int64(Int32.max))))
            let rc = poll(&p, 1, ms)
            if rc < 0 {
                if errno == EINTR { continue }
                throw .system("poll", errno)
            }
            if rc > 0 { return }
        }
    }

    /// Connects (UDP: fixes the peer so ICMP errors arrive; TCP: waits for the handshake).
    func connect(to address: SocketAddress, until deadline: ContinuousClock.Instant) throws(ProbeError) {
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return }
        let err = errno
        guard err == EINPROGRESS else { throw err == ECONNREFUSED ? .refused : .system("connect", err) }
        try wait(Int16(POLLOUT), until: deadline)
        var soError: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
        if soError == ECONNREFUSED { throw .refused }
        if soError != 0 { throw .system("connect", soError) }
    }

    func send(_ bytes: [UInt8]) throws(ProbeError) {
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n < 0 { throw errno == ECONNREFUSED ? .refused : .system("send", errno) }
    }

    /// Receives one datagram or a chunk of a stream; empty on end of stream.
    func receive(max: Int = 65_535, until deadline: ContinuousClock.Instant) throws(ProbeError) -> [UInt8] {
        while true {
            try wait(Int16(POLLIN), until: deadline)
            var buf = [UInt8](repeating: 0, count: max)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buf.prefix(n)) }
            let err = errno
            if err == EAGAIN || err == EINTR { continue }
            throw err == ECONNREFUSED ? .refused : .system("recv", err)
        }
    }

    /// Writes all bytes to a stream socket before the deadline.
    func sendAll(_ bytes: [UInt8], until deadline: ContinuousClock.Instant) throws(ProbeError) {
        var offset = 0
        while offset < bytes.count {
            try wait(Int16(POLLOUT), until: deadline)
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw .system("send", errno)
            }
            offset += n
        }
    }

    /// Reads exactly `count` bytes from a stream socket.
    func receiveExactly(_ count: Int, until deadline: ContinuousClock.Instant) throws(ProbeError) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            let chunk = try receive(max: count - out.count, until: deadline)
            if chunk.isEmpty { throw .bad("connection closed early") }
            out += chunk
        }
        return out
    }
}

/// Milliseconds since `start`, with microsecond resolution.
func elapsedMs(since start: ContinuousClock.Instant) -> Double {
    let (s, atto) = start.duration(to: .now).components
    return (Double(s) * 1000 + Double(atto) / 1e15).rounded(toPlaces: 3)
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let f = pow(10, Double(places))
        return (self * f).rounded() / f
    }
}

/// The text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
