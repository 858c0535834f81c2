#if canImport(Glibc)
import Glibc
#endif
import Posix
import RearguardCore

/// Runs a program without a shell (`posix_spawnp`); exit 0 passes. Output (stdout and stderr) is
/// captured up to 4 KiB; at the deadline the program's whole process group is killed.
public struct ExecCheck: HealthCheck {
    /// Program and arguments.
    public let command: [String]
    /// The most output kept.
    public static let outputLimit = 4096

    /// A check that runs `command`.
    public init(command: [String]) { self.command = command }

    /// Runs and waits on a dedicated thread.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let command = self.command
        return await DedicatedThread.run(name: "rearguard-exec", cancelled: .fail("timeout")) {
            Self.run(command, until: deadline)
        }
    }

    static func run(_ command: [String], until deadline: ContinuousClock.Instant) -> ProbeOutcome {
        guard let program = command.first, !program.isEmpty else { return .fail("empty command") }
        // Own process group, so a timeout kills the program and everything it started; stdout and stderr share one
        // pipe, so the kept output reads as the program wrote it.
        let child: Spawn.Child
        do {
            child = try Spawn.start(command, stdout: .pipe, stderr: .stdout, ownGroup: true)
        } catch {
            return .fail(error.description)
        }
        let completion = Spawn.collect(child, limit: outputLimit, until: deadline)
        // Whatever the program left behind in its group goes too.
        kill(-child.pid, SIGKILL)
        let text = String(decoding: completion.output, as: UTF8.self).trimmed
        let suffix = text.isEmpty ? "" : ": \(text)"
        if completion.timedOut { return .fail("timeout, killed\(suffix)") }
        return completion.status == .exited(0) ? .pass("exit 0\(suffix)") : .fail("\(completion.status)\(suffix)")
    }
}
