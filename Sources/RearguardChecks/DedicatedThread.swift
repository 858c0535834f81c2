import Posix
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

/// Where a probe's result lands the moment it is known, stamped on the thread that produced it: the engine's deadline
/// timer reads it, so a result that was ready in time is kept even when the task that carries it back (or the timer
/// itself) waited for a busy cooperative pool.
final class ProbeSlot: Sendable {
    private let state = Mutex<(outcome: ProbeOutcome, at: ContinuousClock.Instant)?>(nil)

    /// The slot of the check the current task runs, if the engine set one.
    @TaskLocal static var current: ProbeSlot?

    /// Keeps the first outcome offered.
    func offer(_ outcome: ProbeOutcome, at instant: ContinuousClock.Instant = .now) {
        state.withLock { if $0 == nil { $0 = (outcome, instant) } }
    }

    /// The outcome, if one was ready by `limit`.
    func outcome(readyBy limit: ContinuousClock.Instant) -> ProbeOutcome? {
        state.withLock { s in s.flatMap { $0.at <= limit ? $0.outcome : nil } }
    }
}

/// Runs blocking probe work (sockets, waitpid) on its own thread so it never occupies the
/// cooperative pool; on task cancellation the caller gets `cancelled` at once and the thread
/// finishes on its own deadline. The outcome is also offered to the engine's slot from the thread.
enum DedicatedThread {
    static func run(name: String, cancelled: ProbeOutcome, _ body: @escaping @Sendable () -> ProbeOutcome) async -> ProbeOutcome {
        let once = ResumeOnce<ProbeOutcome>()
        let slot = ProbeSlot.current
        let work: @Sendable () -> Void = {
            let outcome = body()
            slot?.offer(outcome)
            once.resume(outcome)
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.attach(continuation)
                if !PosixThread.detach(name: name, stackSize: 512 * 1024, work) {
                    // No thread to be had (a thread limit): block this one rather than not probing at all.
                    work()
                }
            }
        } onCancel: {
            once.resume(cancelled)
        }
    }
}
