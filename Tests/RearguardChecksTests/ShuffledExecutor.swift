import Foundation
import Posix
import Synchronization

/// A busy pool of its own: one thread that runs its ready jobs in random order, so nothing says which of two jobs that
/// became ready together runs first. The engine's tasks run here (a task executor preference), so blocking this
/// thread stalls them without stalling the cooperative pool the other suites run on.
final class ShuffledExecutor: TaskExecutor {
    /// The deadline tests' pool; other suites make their own, so that they never stall each other.
    static let shared = ShuffledExecutor()
    private let jobs = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)

    init() {
        let started = PosixThread.detach(name: "shuffled-pool") { [self] in
            while true {
                ready.wait()
                let job = jobs.withLock { $0.remove(at: Int.random(in: 0..<$0.count)) }
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
        precondition(started, "no thread for the test executor")
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        ready.signal()
    }

    /// Occupies the thread for `duration` (a job like any other: it runs when the thread picks it).
    func block(for duration: Duration) {
        Task(executorPreference: self) { _ = usleep(UInt32(duration.components.attoseconds / 1_000_000_000_000) + UInt32(duration.components.seconds) * 1_000_000) }
    }
}
