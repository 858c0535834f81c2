import Foundation
import Synchronization

/// Resumes a continuation exactly once, whichever of the work or a cancellation comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var early: T?
        var isDone = false
    }
    private let state = Mutex(State())

    /// Hands over the continuation; resumes it at once if a value already arrived.
    func attach(_ continuation: CheckedContinuation<T, Never>) {
        let value: T? = state.withLock { s in
            if s.isDone { return nil }
            if let early = s.early {
                s.isDone = true
                return early
            }
            s.continuation = continuation
            return nil
        }
        if let value { continuation.resume(returning: value) }
    }

    /// Delivers `value` unless something was delivered before.
    func resume(_ value: T) {
        let continuation: CheckedContinuation<T, Never>? = state.withLock { s in
            if s.isDone { return nil }
            guard let c = s.continuation else {
                if s.early == nil { s.early = value }
                return nil
            }
            s.isDone = true
            s.continuation = nil
            return c
        }
        continuation?.resume(returning: value)
    }
}

/// Runs blocking probe work (sockets, waitpid) on its own thread so it never occupies the
/// cooperative pool; on task cancellation the caller gets `cancelled` at once and the thread
/// finishes on its own deadline.
enum DedicatedThread {
    static func run<T: Sendable>(name: String, cancelled: T, _ body: @escaping @Sendable () -> T) async -> T {
        let once = ResumeOnce<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.attach(continuation)
                let thread = Thread { once.resume(body()) }
                thread.name = name
                thread.stackSize = 512 * 1024
                thread.start()
            }
        } onCancel: {
            once.resume(cancelled)
        }
    }
}
