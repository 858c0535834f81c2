#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Who is on the other end of a Unix socket connection, as the kernel saw it at `connect` (`SO_PEERCRED`).
struct PeerCredentials: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32

    /// Whether the peer may change the agent's state.
    var isRoot: Bool { uid == 0 }

    /// Reads `SO_PEERCRED` of an accepted connection; nil when the socket cannot tell (then the peer is not root).
    /// Kept internal and not inlinable: NIO asks that `unsafeGetSocketOption` be called only from such functions.
    static func read(_ channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let future: EventLoopFuture<RawCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { Optional(PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid)) }.recover { _ in nil }
        #else
        return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }

    /// `struct ucred { pid_t pid; uid_t uid; gid_t gid; }`: Glibc's module hides it behind `_GNU_SOURCE`, so the
    /// same three 32-bit fields are spelled here (the layout getsockopt fills).
    private struct RawCredentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }
}
