#if canImport(Glibc)
import Glibc
#endif
import CPosix

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    /// The child was gone before it could be reaped (`ECHILD`: reaped elsewhere, or SIGCHLD ignored).
    case unknown

    /// From a `waitpid` status word.
    public init(waitStatus status: Int32) {
        self = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
    }

    /// The shell's number for it: the exit code, or 128 plus the signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        case .unknown: -1
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signalled(let signal): "killed by signal \(signal)"
        case .unknown: "exit status unknown (reaped elsewhere)"
        }
    }
}

/// A program that could not be started.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let program: String
    /// The `errno` of the failed call (`ENOENT`: no such program).
    public let code: Int32
    /// The output file that could not be opened, when that was the failure.
    public var file: String?

    public var description: String {
        if let file { return "cannot open \(file) for \(program): \(Spawn.errorText(code))" }
        return code == ENOENT ? "program not found: \(program)" : "cannot run \(program): \(Spawn.errorText(code))"
    }
}

/// Child processes over `posix_spawn` without a shell, Foundation or a run loop: command checks and greenboot scripts
/// in the agent, every program the tests run. The child gets default signal actions, an empty signal mask (whatever
/// the parent's threads block), `/dev/null` as stdin and no other descriptor of the parent's. A program name without
/// a slash is looked up in the parent's PATH (an `environment` PATH applies to what the program itself starts).
public enum Spawn {
    /// Where a child's stdout or stderr goes.
    public enum Output: Sendable {
        /// Discarded.
        case null
        /// A pipe the parent reads (`collect`).
        case pipe
        /// Appended to a file, created when missing.
        case file(String)
        /// For stderr only: wherever stdout goes (one pipe or file, interleaved as written).
        case stdout
    }

    /// A started child and the parent's ends of its pipes (-1 where there is none).
    public struct Child: Sendable {
        public let pid: pid_t
        public let output: Int32
        public let errorOutput: Int32
        /// Whether the child leads a process group of its own (then a timeout kills the whole group).
        public let ownsGroup: Bool
    }

    /// What `collect` saw: the exit status, the output read (up to the limit) and whether the deadline killed it.
    public struct Completion: Sendable {
        public var status: ExitStatus
        public var output: [UInt8]
        public var errorOutput: [UInt8]
        public var timedOut: Bool
    }

    /// Starts `arguments[0]` (looked up in PATH unless it holds a slash). `environment` entries replace or add to the
    /// inherited environment; `ownGroup` makes the child a process group leader.
    public static func start(
        _ arguments: [String], environment: [String: String] = [:], stdout: Output = .pipe, stderr: Output = .pipe,
        ownGroup: Bool = false
    ) throws(SpawnError) -> Child {
        guard let program = arguments.first, !program.isEmpty else { throw SpawnError(program: "", code: ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        // Pipes and files are opened close-on-exec at once (pipe2, O_CLOEXEC), so a child another thread starts
        // meanwhile never inherits them: a leaked write end would hold the reader's end-of-file back for as long as
        // that other child lives. `kept` are the parent's read ends; `childOnly` what only the child needs.
        var kept: [Int32] = [], childOnly: [Int32] = []
        func route(_ output: Output, to fd: Int32) throws(SpawnError) -> Int32 {
            switch output {
            case .null:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path):
                let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard file >= 0 else { throw SpawnError(program: program, code: errno, file: path) }
                childOnly.append(file)
                posix_spawn_file_actions_adddup2(&actions, file, fd)
            case .stdout:
                posix_spawn_file_actions_adddup2(&actions, 1, fd)
            case .pipe:
                var ends: [Int32] = [-1, -1]
                guard rg_pipe2(&ends, O_CLOEXEC) == 0 else { throw SpawnError(program: program, code: errno) }
                kept.append(ends[0])
                childOnly.append(ends[1])
                posix_spawn_file_actions_adddup2(&actions, ends[1], fd)
                return ends[0]
            }
            return -1
        }
        let output: Int32, errorOutput: Int32
        do {
            output = try route(stdout, to: 1)
            errorOutput = try route(stderr, to: 2)
        } catch {
            for fd in kept + childOnly { close(fd) }
            throw error
        }

        // Nothing but stdin, stdout and stderr crosses over: no descriptor another thread opened without
        // close-on-exec (an API connection, a bus socket) may outlive its owner's close in a child.
        rg_spawn_closefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.isEmpty ? [] : merged(environment).map { strdup($0) } + [nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = envp.isEmpty
            ? posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
            : posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        // The child has its copies; the parent keeps only the read ends.
        for fd in childOnly { close(fd) }
        guard rc == 0 else {
            for fd in kept { close(fd) }
            throw SpawnError(program: program, code: rc)
        }
        return Child(pid: pid, output: output, errorOutput: errorOutput, ownsGroup: ownGroup)
    }

    /// Reads the child's pipes and reaps it, blocking the calling thread (never run this on the cooperative pool:
    /// `run` below does it on a thread of its own). Keeps at most `limit` bytes of each stream but reads on, so a
    /// chatty child never stalls on a full pipe. At `deadline` the child (its whole group, if it leads one) is killed.
    /// Once the child is reaped, what is already in the pipes is read and the rest ignored: a daemon it left behind
    /// may hold them open for ever.
    ///
    /// With `resumingStops`, a child that stops is continued at once. `nsenter` needs it: it stops itself when the
    /// program it runs inside a container stops, and a container's shutdown stops every process in it for a moment.
    /// Left stopped, `nsenter` never reaps that program, and the container's init waits for it for ever.
    public static func collect(
        _ child: Child, limit: Int = .max, until deadline: ContinuousClock.Instant? = nil, resumingStops: Bool = false
    ) -> Completion {
        var streams = [child.output, child.errorOutput].map { fd in
            if fd >= 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            return (fd: fd, bytes: [UInt8]())
        }
        defer { for s in streams where s.fd >= 0 { close(s.fd) } }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        // Reads what is there, at most `budget` bytes: a writer that keeps the pipe full (`cat /dev/zero`, a
        // grandchild after the child is gone) must not keep the loop from its deadline and its reaping.
        func drain(_ i: Int, budget: Int = 64 * 1024) {
            var left = budget
            while streams[i].fd >= 0 && left > 0 {
                let n = chunk.withUnsafeMutableBytes { read(streams[i].fd, $0.baseAddress, min($0.count, left)) }
                if n > 0 {
                    streams[i].bytes += chunk.prefix(min(n, max(limit - streams[i].bytes.count, 0)))
                    left -= n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    if n == 0 || errno != EAGAIN {
                        close(streams[i].fd)
                        streams[i].fd = -1
                    }
                    return
                }
            }
        }
        var status: ExitStatus = .unknown
        var timedOut = false
        var idle: UInt32 = 500
        /// Reaps the child (blocking or not); true once it is gone, whether reaped here or not reapable (`ECHILD`).
        func reaped(blocking: Bool) -> Bool {
            var word: Int32 = 0
            while true {
                let r = waitpid(child.pid, &word, (blocking ? 0 : WNOHANG) | (resumingStops ? WUNTRACED : 0))
                if r == child.pid && resumingStops && word & 0xff == 0x7f {
                    kill(child.pid, SIGCONT)
                    continue
                }
                if r == child.pid {
                    status = ExitStatus(waitStatus: word)
                    return true
                }
                if r < 0 && errno == EINTR { continue }
                return r < 0
            }
        }
        while true {
            if reaped(blocking: false) { break }
            let remaining = deadline.map { ContinuousClock.now.duration(to: $0) }
            if let remaining, remaining <= .zero {
                timedOut = true
                kill(child.ownsGroup ? -child.pid : child.pid, SIGKILL)
                _ = reaped(blocking: true)
                break
            }
            // Sleep in poll until output arrives; wake now and then to reap a child that exited while something
            // else holds its pipes.
            let waitMS = Int32(min(remaining.map { milliseconds($0) + 1 } ?? 50, 50))
            let open = streams.indices.filter { streams[$0].fd >= 0 }
            if open.isEmpty {
                usleep(idle)
                idle = min(idle * 2, 20_000)
                continue
            }
            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), max(waitMS, 1)) > 0 {
                for (k, i) in open.enumerated() where fds[k].revents != 0 { drain(i) }
            }
        }
        // What the child wrote before it ended is in the pipes now; more may come only from what it left behind.
        for i in streams.indices { drain(i, budget: 1 << 20) }
        return Completion(status: status, output: streams[0].bytes, errorOutput: streams[1].bytes, timedOut: timedOut)
    }

    /// Starts a program with both streams piped and collects it on a thread of its own, suspending (not blocking)
    /// the calling task.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stderr: Output = .pipe, limit: Int = .max,
        until deadline: ContinuousClock.Instant? = nil, resumingStops: Bool = false
    ) async throws(SpawnError) -> Completion {
        await finished(
            try start(arguments, environment: environment, stdout: .pipe, stderr: stderr), limit: limit, until: deadline,
            resumingStops: resumingStops)
    }

    /// `collect` on a thread of its own, suspending (not blocking) the calling task. Cancelling the task kills the
    /// child (its group, if it leads one), so a test's time limit also ends a program that hangs.
    public static func finished(
        _ child: Child, limit: Int = .max, until deadline: ContinuousClock.Instant? = nil, resumingStops: Bool = false
    ) async -> Completion {
        await withTaskCancellationHandler {
            await PosixThread.run(name: "spawn-collect", stackSize: 256 * 1024) {
                collect(child, limit: limit, until: deadline, resumingStops: resumingStops)
            }
        } onCancel: {
            kill(child.ownsGroup ? -child.pid : child.pid, SIGKILL)
        }
    }

    /// The inherited environment with `overrides` applied, as `NAME=value` strings.
    private static func merged(_ overrides: [String: String]) -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if overrides[name] == nil { entries.append(text) }
            cursor += 1
        }
        return entries + overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    private static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000)
    }

    /// `strerror_r`'s text for an `errno` value.
    public static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        _ = strerror_r(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
