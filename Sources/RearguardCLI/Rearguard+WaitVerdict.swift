import ArgumentParser
import FoundationEssentials
import Glibc
import RearguardCore
import RearguardDaemon
import Posix

extension Rearguard {
    /// `rearguard wait-verdict`: the boot gate, run by a oneshot unit that `boot-complete.target` requires.
    public struct WaitVerdict: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "wait-verdict",
            abstract: "Wait until this boot is judged: 0 when good (or back on a good deployment), 1 when not.",
            discussion: """
                Reads the agent's state file (it never changes it) until the current boot id has a verdict: exits 0 \
                once the booted deployment is known good or the node runs the previous good deployment after a \
                rollback; 1 on failing or quarantine, or when --timeout passes first. It keeps waiting through \
                first-boot, probation and rolling-back. Its unit's TimeoutStartSec must exceed [assessment] soak.
                """)

        @OptionGroup var config: ConfigOptions

        @Option(help: "Give up after this long (e.g. 30m); default: wait until stopped.")
        var timeout: String?

        @Option(help: "How often to read the state file (e.g. 1s).")
        var interval = "1s"

        public init() {}

        public func run() async throws {
            let settings = try config.load(exitingWith: ExitCode(78))  // EX_CONFIG
            guard let every = ConfigDuration.parse(interval), every > .zero else {
                throw ValidationError("--interval: expected a duration such as 1s, got \(interval)")
            }
            var deadline: ContinuousClock.Instant?
            if let timeout {
                guard let limit = ConfigDuration.parse(timeout) else {
                    throw ValidationError("--timeout: expected a duration such as 30m, got \(timeout)")
                }
                deadline = .now + limit
            }
            let store = FileStateStore(stateDirectory: settings.host.stateDir)
            var said = ""
            while true {
                let bootID = (try? String(contentsOfFile: settings.host.bootId, encoding: .utf8))?
                    .trimmed
                let (verdict, line) = Self.judge(store.peek(), bootID: bootID, statePath: store.path)
                if line != said {
                    FileIO.write((line + "\n"), to: STDOUT_FILENO)
                    said = line
                }
                switch verdict {
                case .good: return
                case .bad: throw ExitCode.failure
                case .wait: break
                }
                if let deadline, ContinuousClock.now >= deadline {
                    print("no verdict before the timeout (\(timeout ?? "")): \(line)")
                    throw ExitCode.failure
                }
                try await Task.sleep(for: every)
            }
        }

        enum Verdict { case good, bad, wait }

        /// The gate's rule on what the state file says about this boot.
        static func judge(_ memory: AssessmentMemory?, bootID: String?, statePath: String) -> (Verdict, String) {
            guard let bootID, !bootID.isEmpty else { return (.wait, "waiting: cannot read this boot's id") }
            guard let memory else { return (.wait, "waiting: no readable state in \(statePath) yet") }
            guard let current = memory.current, current.bootID == bootID else {
                return (.wait, "waiting: the agent has not assessed this boot yet")
            }
            let why = current.reason.map { ": \($0)" } ?? ""
            switch current.state {
            case .good: return (.good, "good: \(current.checksum.prefix(12)) is known good")
            case .rolledBack: return (.good, "rolled-back: running the previous good deployment\(why)")
            case .failing, .quarantine: return (.bad, "\(current.state.rawValue)\(why)")
            case .firstBoot, .probation, .rollingBack: return (.wait, "waiting: \(current.state.rawValue)\(why)")
            }
        }
    }
}
