#if canImport(Glibc)
import Glibc
#endif
import Posix
import RearguardCore
import Synchronization

/// Runs a program without a shell (`posix_spawnp`); exit 0 passes. Output (stdout and stderr) is
/// captured up to 4 KiB; at the deadline the program's whole process group is killed.
public struct ExecCheck: HealthCheck {
    /// Program and arguments.
    public let command: [String]
    /// The most output kept.
    public static let outputLimit = 4096

    /// A check that runs `command`.
    public init(command: [String]) { self.command = command }

    /// Runs and waits on a dedicated thread. A cancelled probe (the agent stopping) kills the program's group at once:
    /// the thread would do it at the deadline, but the agent may be gone by then, leaving the group behind.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let command = self.command
        let group = RunningGroup()
        return await withTaskCancellationHandler {
            await DedicatedThread.run(name: "rearguard-exec", cancelled: .fail("timeout")) {
                Self.run(command, until: deadline, group: group)
            }
        } onCancel: {
            group.cancel()
        }
    }

    static func run(_ command: [String], until deadline: ContinuousClock.Instant, group: RunningGroup? = nil) -> ProbeOutcome {
        guard let program = command.first, !program.isEmpty else { return .fail("empty command") }
        // Own process group, so a timeout kills the program and everything it started; stdout and stderr share one
        // pipe, so the kept output reads as the program wrote it.
        let child: Spawn.Child
        do {
            child = try Spawn.start(command, stdout: .pipe, stderr: .stdout, ownGroup: true)
        } catch {
            return .fail(error.description)
        }
        group?.started(child.pid)
        let completion = Spawn.collect(child, limit: outputLimit, until: deadline)
        // Whatever the program left behind in its group goes too.
        kill(-child.pid, SIGKILL)
        group?.finished()
        let text = String(decoding: completion.output, as: UTF8.self).trimmed
        let suffix = text.isEmpty ? "" : ": \(text)"
        if completion.timedOut { return .fail("timeout, killed\(suffix)") }
        return completion.status == .exited(0) ? .pass("exit 0\(suffix)") : .fail("\(completion.status)\(suffix)")
    }
}

/// The process group of a command check's program, for a cancellation that comes while it runs.
final class RunningGroup: Sendable {
    private let state = Mutex<(group: pid_t?, isCancelled: Bool, isDone: Bool)>((nil, false, false))

    /// The program started as leader of group `pid`; killed at once if the probe was cancelled before.
    func started(_ pid: pid_t) {
        let cancelled = state.withLock { s in
            s.group = pid
            return s.isCancelled
        }
        if cancelled { kill(-pid, SIGKILL) }
    }

    /// The probe killed the group itself; nothing is left to kill.
    func finished() { state.withLock { $0.isDone = true } }

    /// Kills the group if it still runs.
    func cancel() {
        let group: pid_t? = state.withLock { s in
            s.isCancelled = true
            return s.isDone ? nil : s.group
        }
        if let group { kill(-group, SIGKILL) }
    }
}
