#if canImport(Glibc)
import Glibc
#endif
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
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .fail("pipe: \(cString(errnoText()))") }
        let readEnd = fds[0], writeEnd = fds[1]
        // Another check's spawn may still inherit writeEnd in the window before FD_CLOEXEC is set,
        // so the loop below never relies on end-of-file alone: it also reaps the program.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(readEnd, F_SETFL, O_NONBLOCK)
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Own process group, so a timeout kills the program and everything it started;
        // default signals and an empty mask, whatever the agent itself blocks.
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, program, &actions, &attr, &argv, environ)
        close(writeEnd)
        guard rc == 0 else {
            return rc == ENOENT ? .fail("program not found: \(program)") : .fail("cannot run \(program): \(cString(errnoText(rc)))")
        }

        var output: [UInt8] = []
        var isOpen = true
        var timedOut = false
        var status: Int32 = 0
        func drain() {
            while isOpen {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if n > 0 {
                    // Keep reading past the limit so a chatty program never blocks on a full pipe.
                    output += chunk.prefix(min(n, outputLimit - output.count))
                } else if n == 0 || errno != EINTR {
                    if n == 0 || errno != EAGAIN { isOpen = false }
                    return
                }
            }
        }
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                break
            }
            if isOpen {
                var p = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                let ms = Int32(min(ConfigDuration.milliseconds(remaining) + 1, 20))
                if poll(&p, 1, max(ms, 1)) > 0 { drain() }
            } else {
                usleep(2_000)
            }
            if waitpid(pid, &status, WNOHANG) == pid {
                drain()
                break
            }
        }
        // Whatever the program left behind in its group goes too.
        kill(-pid, SIGKILL)
        let text = String(decoding: output, as: UTF8.self).trimmed
        let suffix = text.isEmpty ? "" : ": \(text)"
        if timedOut { return .fail("timeout, killed\(suffix)") }
        let exited = status & 0x7f == 0
        if exited {
            let code = (status >> 8) & 0xff
            return code == 0 ? .pass("exit 0\(suffix)") : .fail("exit \(code)\(suffix)")
        }
        return .fail("killed by signal \(status & 0x7f)\(suffix)")
    }

    static func errnoText(_ code: Int32 = errno) -> [CChar] {
        var buf = [CChar](repeating: 0, count: 128)
        _ = strerror_r(code, &buf, 128)
        return buf
    }
}
