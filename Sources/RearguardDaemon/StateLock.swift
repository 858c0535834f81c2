import FoundationEssentials
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The agent's claim on its state folder: an exclusive `flock` on `<state_dir>/agent.lock`, held for the life of the
/// process (the kernel drops it when the process dies, however it dies, so a crash never leaves a stale lock). A second
/// agent on the same folder cannot take it and refuses to start: two agents never both decide from one memory.
public final class StateLock: Sendable {
    /// The lock file.
    public let path: String
    private let fd: Int32

    /// Takes the lock, creating the folder and the file when needed; throws naming the holder when another agent has it.
    public init(stateDirectory: String) throws(StateLockError) {
        path = FilePath(stateDirectory).appending("agent.lock").string
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw StateLockError(path: path, message: "cannot create the state folder \(stateDirectory): \(error)")
        }
        // O_NOFOLLOW: a symlink planted here is never opened (nor truncated) through.
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StateLockError(path: path, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            let holder = Self.holder(fd)
            close(fd)
            if code == EWOULDBLOCK {
                throw StateLockError(
                    path: path, isHeld: true,
                    message: "another rearguard agent\(holder.map { " (pid \($0))" } ?? "") holds the state folder \(stateDirectory) (\(path)); refusing to start")
            }
            throw StateLockError(path: path, message: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        // The holder's pid, for the refusal message of the next one (informative only: the lock is what counts).
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit { close(fd) }

    private static func holder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer.prefix(n), as: UTF8.self).trimmed
        return Int32(text) != nil ? text : nil
    }
}

/// Why the state folder could not be claimed.
public struct StateLockError: Error, Sendable, CustomStringConvertible {
    /// The lock file.
    public var path: String
    /// True when another process holds the lock (as opposed to a file system failure).
    public var isHeld = false
    /// A lowercase sentence for the admin.
    public var message: String

    /// The message.
    public var description: String { message }
}
