#if canImport(Glibc)
import Glibc
#endif

/// A detached POSIX thread for work that blocks (sd-bus calls, sockets, `waitpid`) and must never sit on Swift's
/// cooperative pool (STYLE C6). Foundation's `Thread` did this before; this is the part of it the agent needs,
/// without linking Foundation.
public enum PosixThread {
    /// Starts `body` on a new detached thread named `name` (the kernel keeps 15 bytes of it), with a stack of
    /// `stackSize` bytes or the system's default (8 MiB under systemd). Returns false when no thread could be made
    /// (`EAGAIN`: a process or system thread limit); `body` did not run then.
    @discardableResult
    public static func detach(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Work(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN))) }
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, posixThreadEntry, context)
        pthread_attr_destroy(&attributes)
        guard result == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            return false
        }
        return true
    }

    /// Runs blocking `work` on a detached thread named `name` and resumes the caller with its result: the calling
    /// task suspends, and no cooperative-pool thread waits. When no thread can be made, `work` runs in place.
    public static func run<T: Sendable, E: Error>(
        name: String, stackSize: Int? = nil, _ work: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            let job: @Sendable () -> Void = { continuation.resume(returning: Result { () throws(E) -> T in try work() }) }
            if !detach(name: name, stackSize: stackSize, job) { job() }
        }
        return try result.get()
    }

    fileprivate static func enter(_ raw: UnsafeMutableRawPointer) {
        let work = Unmanaged<Work>.fromOpaque(raw).takeRetainedValue()
        setName(work.name)
        work.body()
    }

    /// Names the calling thread for `ps -L` and the journal (pthread_setname_np is not in Swift's Glibc module).
    private static func setName(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = Array(name.utf8.prefix(15)).withUnsafeBytes { FileIO.writeAll(fd, $0) }
    }

    fileprivate final class Work: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}

private func posixThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    if let raw { PosixThread.enter(raw) }
    return nil
}
