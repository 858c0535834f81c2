import FoundationEssentials
import SystemPackage

/// All fragments merged (stage 2 of STYLE L3).
///
/// Sections merge per key: a later fragment's value wins. `[[check]]` tables accumulate by
/// `name`: a later fragment that has a check of the same name replaces that whole check (keys
/// are not merged inside a check); new names are appended in the order they are first seen.
public struct ConfigInput: Sendable, Equatable {
    public var host = HostFragment()
    public var assessment = AssessmentFragment()
    public var rollback = RollbackFragment()
    public var api = APIFragment()
    public var daemon = DaemonFragment()
    public var greenboot = GreenbootFragment()
    public var fleet = FleetFragment()
    public var metrics = MetricsFragment()
    /// Checks after replacement by name, in first-seen order.
    public var checks: [CheckFragment] = []

    /// An empty input: every default applies.
    public init() {}

    /// Merges fragments in the order given (lexical file-name order); later wins.
    public static func merge(_ fragments: [ConfigFragment]) -> ConfigInput {
        var input = ConfigInput()
        for f in fragments {
            input.host.sysroot = f.host.sysroot ?? input.host.sysroot
            input.host.cmdline = f.host.cmdline ?? input.host.cmdline
            input.host.bootId = f.host.bootId ?? input.host.bootId
            input.host.stateDir = f.host.stateDir ?? input.host.stateDir
            input.host.hostRun = f.host.hostRun ?? input.host.hostRun
            input.host.zincatiConfigDir = f.host.zincatiConfigDir ?? input.host.zincatiConfigDir
            input.host.bus = f.host.bus ?? input.host.bus
            input.assessment.mode = f.assessment.mode ?? input.assessment.mode
            input.assessment.soak = f.assessment.soak ?? input.assessment.soak
            input.assessment.maxRebootsPerDay = f.assessment.maxRebootsPerDay ?? input.assessment.maxRebootsPerDay
            input.assessment.inhibitWhileFailing = f.assessment.inhibitWhileFailing ?? input.assessment.inhibitWhileFailing
            input.rollback.driver = f.rollback.driver ?? input.rollback.driver
            input.rollback.transactionTimeout = f.rollback.transactionTimeout ?? input.rollback.transactionTimeout
            input.api.socket = f.api.socket ?? input.api.socket
            input.api.group = f.api.group ?? input.api.group
            input.daemon.watchdog = f.daemon.watchdog ?? input.daemon.watchdog
            input.greenboot.enabled = f.greenboot.enabled ?? input.greenboot.enabled
            input.fleet.strategy = f.fleet.strategy ?? input.fleet.strategy
            input.fleet.baseURL = f.fleet.baseURL ?? input.fleet.baseURL
            input.fleet.group = f.fleet.group ?? input.fleet.group
            input.fleet.retryMax = f.fleet.retryMax ?? input.fleet.retryMax
            input.fleet.zincatiConfigDirs = f.fleet.zincatiConfigDirs ?? input.fleet.zincatiConfigDirs
            input.metrics.listen = f.metrics.listen ?? input.metrics.listen
            for check in f.checks {
                if let name = check.name, let at = input.checks.firstIndex(where: { $0.name == name }) {
                    input.checks[at] = check
                } else {
                    input.checks.append(check)
                }
            }
        }
        return input
    }
}

/// Finds, reads and validates the drop-in configuration, as Zincati lays it out.
public enum ConfigLoader {
    /// The drop-in folders in the order they are read; a later folder wins.
    public static let defaultDirectories = [
        "/usr/lib/rearguard/config.d", "/etc/rearguard/config.d", "/run/rearguard/config.d",
    ]

    /// The `*.toml` files to read, in lexical file-name order: of files with the same name only
    /// the one in the last folder counts, and a symlink to `/dev/null` masks the name.
    public static func fragmentFiles(in directories: [String]) throws(ConfigError) -> [String] {
        var byName: [String: String?] = [:]
        var issues: [ConfigIssue] = []
        let fm = FileManager.default
        for directory in directories {
            var isDirectory: Bool = false
            guard fm.fileExists(atPath: directory, isDirectory: &isDirectory) else { continue }
            guard isDirectory else {
                issues.append(ConfigIssue(code: .unreadable, file: directory, key: nil, reason: "not a directory"))
                continue
            }
            let names: [String]
            do {
                names = try fm.contentsOfDirectory(atPath: directory)
            } catch {
                issues.append(ConfigIssue(code: .unreadable, file: directory, key: nil, reason: "cannot list the directory"))
                continue
            }
            for name in names where name.hasSuffix(".toml") && !name.hasPrefix(".") {
                let path = FilePath(directory).appending(name).string
                if let target = try? fm.destinationOfSymbolicLink(atPath: path), target == "/dev/null" {
                    byName[name] = .some(nil)
                } else {
                    byName[name] = .some(path)
                }
            }
        }
        guard issues.isEmpty else { throw ConfigError(issues: issues) }
        return byName.keys.sorted().compactMap { byName[$0] ?? nil }
    }

    /// Reads every fragment in `directories`, merges and validates them; throws every issue found.
    public static func load(directories: [String] = defaultDirectories) throws(ConfigError) -> Settings {
        let files = try fragmentFiles(in: directories)
        var fragments: [ConfigFragment] = []
        var issues: [ConfigIssue] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                issues.append(ConfigIssue(code: .unreadable, file: file, key: nil, reason: "cannot read the file"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                issues.append(ConfigIssue(code: .syntax, file: file, key: nil, reason: "not utf-8 text"))
                continue
            }
            let (fragment, fileIssues) = ConfigFragment.parse(text, file: file)
            issues += fileIssues
            issues += duplicateNames(in: fragment)
            fragments.append(fragment)
        }
        guard issues.isEmpty else { throw ConfigError(issues: issues) }
        return try Settings.validate(ConfigInput.merge(fragments))
    }

    private static func duplicateNames(in fragment: ConfigFragment) -> [ConfigIssue] {
        var seen: Set<String> = []
        var issues: [ConfigIssue] = []
        for check in fragment.checks {
            guard let name = check.name else { continue }
            if !seen.insert(name).inserted {
                issues.append(ConfigIssue(code: .duplicateName, file: fragment.file, key: "check[\(name)].name", reason: "another check in this file has the same name"))
            }
        }
        return issues
    }
}
