import Dispatch
import Posix
import Synchronization

/// A serial executor backed by one dedicated thread, so that blocking sd-bus calls never run on
/// the cooperative pool (STYLE C6).
package final class BusThreadExecutor: SerialExecutor {
    private let queue = Mutex<(jobs: [UnownedJob], stopped: Bool)>(([], false))
    private let wakeup = DispatchSemaphore(value: 0)

    /// Starts the thread; it ends after `stop()`.
    package init(name: String) {
        // Without a thread of its own (a thread limit reached), a dedicated dispatch queue runs the loop instead.
        if !PosixThread.detach(name: name, { [self] in runLoop() }) {
            DispatchQueue(label: name).async { [self] in runLoop() }
        }
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.jobs.append(job) }
        wakeup.signal()
    }

    package func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish once the queued jobs have run.
    package func stop() {
        queue.withLock { $0.stopped = true }
        wakeup.signal()
    }

    private func runLoop() {
        while true {
            wakeup.wait()
            let (jobs, stopped) = queue.withLock { state in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return (state.jobs, state.stopped)
            }
            for job in jobs { job.runSynchronously(on: asUnownedSerialExecutor()) }
            if stopped { return }
        }
    }
}
