
/// A value read from config together with the file it came from, so later errors can name it.
public struct Sourced<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The value as written.
    public var value: Value
    /// The file it was read from.
    public var file: String
}

/// `[host]` as one fragment writes it (stage 1 of STYLE L3: everything optional).
public struct HostFragment: Sendable, Equatable {
    public var sysroot, cmdline, bootId, stateDir, hostRun, zincatiConfigDir, bus: Sourced<String>?
}

/// `[assessment]` as one fragment writes it.
public struct AssessmentFragment: Sendable, Equatable {
    public var mode, soak: Sourced<String>?
    public var maxRebootsPerDay: Sourced<Int>?
    public var inhibitWhileFailing: Sourced<Bool>?
}

/// `[rollback]` as one fragment writes it.
public struct RollbackFragment: Sendable, Equatable {
    public var driver, transactionTimeout: Sourced<String>?
}

/// `[api]` as one fragment writes it.
public struct APIFragment: Sendable, Equatable {
    public var socket, group: Sourced<String>?
}

/// `[daemon]` as one fragment writes it.
public struct DaemonFragment: Sendable, Equatable {
    public var watchdog: Sourced<String>?
}

/// `[fleet]` as one fragment writes it.
public struct FleetFragment: Sendable, Equatable {
    public var strategy, baseURL, group, retryMax: Sourced<String>?
    public var zincatiConfigDirs: Sourced<[String]>?
}

/// `[metrics]` as one fragment writes it.
public struct MetricsFragment: Sendable, Equatable {
    public var listen: Sourced<String>?
}

/// `[greenboot]` as one fragment writes it.
public struct GreenbootFragment: Sendable, Equatable {
    public var enabled: Sourced<Bool>?
}

/// One `[[check]]` table as written; every key optional, validated in stage 3.
public struct CheckFragment: Sendable, Equatable {
    /// The file the table is in.
    public var file: String
    /// The table's position among the file's `[[check]]` tables, from 1.
    public var index: Int
    public var name, kind, timeout, interval, startPeriod, restartUnit: String?
    public var required: Bool?
    public var failureThreshold, successThreshold: Int?
    public var server, query, type, expectRcode, maxOffset, interface, mode, expectServer: String?
    public var address, url, expectBody, unit: String?
    public var expectAnswers, command: [String]?
    public var maxStratum, expectStatus: Int?

    /// How errors name this table: `check[NAME]`, or `check[#N]` when it has no name.
    public var label: String { name.map { "check[\($0)]" } ?? "check[#\(index)]" }
}

/// One parsed `*.toml` file (stage 1 of STYLE L3).
public struct ConfigFragment: Sendable, Equatable {
    /// The file's path.
    public var file: String
    public var host = HostFragment()
    public var assessment = AssessmentFragment()
    public var rollback = RollbackFragment()
    public var api = APIFragment()
    public var daemon = DaemonFragment()
    public var greenboot = GreenbootFragment()
    public var fleet = FleetFragment()
    public var metrics = MetricsFragment()
    /// The file's `[[check]]` tables in order.
    public var checks: [CheckFragment] = []

    /// An empty fragment for `file`.
    public init(file: String) { self.file = file }

    /// Parses TOML text; every syntax error, unknown key and wrong type becomes an issue naming `file`.
    public static func parse(_ text: String, file: String) -> (ConfigFragment, [ConfigIssue]) {
        var fragment = ConfigFragment(file: file)
        let table: TOMLTable
        do {
            table = try TOMLTable(parsing: text)
        } catch {
            return (fragment, [ConfigIssue(code: .syntax, file: file, key: nil, line: error.line, reason: error.reason)])
        }
        var issues: [ConfigIssue] = []
        for key in table.keys.sorted() {
            guard let value = table[key] else { continue }
            switch key {
            case "host":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.host = HostFragment(
                    sysroot: r.sourced("sysroot"), cmdline: r.sourced("cmdline"), bootId: r.sourced("boot_id"),
                    stateDir: r.sourced("state_dir"), hostRun: r.sourced("host_run"),
                    zincatiConfigDir: r.sourced("zincati_config_dir"), bus: r.sourced("bus"))
                r.finish(&issues)
            case "assessment":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.assessment = AssessmentFragment(
                    mode: r.sourced("mode"), soak: r.sourced("soak"), maxRebootsPerDay: r.sourcedInt("max_reboots_per_day"),
                    inhibitWhileFailing: r.sourcedBool("inhibit_while_failing"))
                r.finish(&issues)
            case "rollback":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.rollback = RollbackFragment(driver: r.sourced("driver"), transactionTimeout: r.sourced("transaction_timeout"))
                r.finish(&issues)
            case "api":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.api = APIFragment(socket: r.sourced("socket"), group: r.sourced("group"))
                r.finish(&issues)
            case "daemon":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.daemon = DaemonFragment(watchdog: r.sourced("watchdog"))
                r.finish(&issues)
            case "greenboot":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.greenboot = GreenbootFragment(enabled: r.sourcedBool("enabled"))
                r.finish(&issues)
            case "fleet":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.fleet = FleetFragment(
                    strategy: r.sourced("strategy"), baseURL: r.sourced("base_url"), group: r.sourced("group"),
                    retryMax: r.sourced("retry_max"), zincatiConfigDirs: r.strings("zincati_config_dirs").map { Sourced(value: $0, file: file) })
                r.finish(&issues)
            case "metrics":
                var r = TableReader(value, file: file, path: key, issues: &issues)
                fragment.metrics = MetricsFragment(listen: r.sourced("listen"))
                r.finish(&issues)
            case "check":
                guard let array = value.array else {
                    issues.append(ConfigIssue(code: .wrongType, file: file, key: key, reason: "must be an array of tables ([[check]])"))
                    continue
                }
                for (offset, element) in array.enumerated() {
                    let index = offset + 1
                    guard element.table != nil else {
                        issues.append(ConfigIssue(code: .wrongType, file: file, key: "check[#\(index)]", reason: "must be a table"))
                        continue
                    }
                    let name = element.table?["name"]?.string
                    let path = name.map { "check[\($0)]" } ?? "check[#\(index)]"
                    var r = TableReader(element, file: file, path: path, issues: &issues)
                    var c = CheckFragment(file: file, index: index)
                    c.name = r.string("name")
                    c.kind = r.string("kind")
                    c.required = r.bool("required")
                    c.timeout = r.string("timeout")
                    c.interval = r.string("interval")
                    c.startPeriod = r.string("start_period")
                    c.failureThreshold = r.int("failure_threshold")
                    c.successThreshold = r.int("success_threshold")
                    c.restartUnit = r.string("restart_unit")
                    c.server = r.string("server")
                    c.query = r.string("query")
                    c.type = r.string("type")
                    c.expectRcode = r.string("expect_rcode")
                    c.expectAnswers = r.strings("expect_answers")
                    c.maxStratum = r.int("max_stratum")
                    c.maxOffset = r.string("max_offset")
                    c.interface = r.string("interface")
                    c.mode = r.string("mode")
                    c.expectServer = r.string("expect_server")
                    c.address = r.string("address")
                    c.url = r.string("url")
                    c.expectStatus = r.int("expect_status")
                    c.expectBody = r.string("expect_body")
                    c.unit = r.string("unit")
                    c.command = r.strings("command")
                    r.finish(&issues)
                    fragment.checks.append(c)
                }
            default:
                issues.append(ConfigIssue(code: .unknownKey, file: file, key: key, reason: "unknown key"))
            }
        }
        return (fragment, issues)
    }
}

/// Reads typed keys from one TOML table, remembering which keys it used so the rest are unknown.
private struct TableReader {
    let table: TOMLTable?
    let file: String
    let path: String
    var used: Set<String> = []
    var issues: [ConfigIssue] = []

    init(_ value: TOMLValue, file: String, path: String, issues: inout [ConfigIssue]) {
        self.table = value.table
        self.file = file
        self.path = path
        if table == nil {
            issues.append(ConfigIssue(code: .wrongType, file: file, key: path, reason: "must be a table"))
        }
    }

    private mutating func raw(_ key: String) -> TOMLValue? {
        used.insert(key)
        return table?[key]
    }

    private mutating func wrongType(_ key: String, _ expected: String) {
        issues.append(ConfigIssue(code: .wrongType, file: file, key: "\(path).\(key)", reason: "must be \(expected)"))
    }

    mutating func string(_ key: String) -> String? {
        guard let value = raw(key) else { return nil }
        guard let string = value.string else { wrongType(key, "a string"); return nil }
        return string
    }

    mutating func int(_ key: String) -> Int? {
        guard let value = raw(key) else { return nil }
        guard let int = value.int else { wrongType(key, "an integer"); return nil }
        return int
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        guard let bool = value.bool else { wrongType(key, "true or false"); return nil }
        return bool
    }

    mutating func strings(_ key: String) -> [String]? {
        guard let value = raw(key) else { return nil }
        guard let array = value.array else { wrongType(key, "an array of strings"); return nil }
        var result: [String] = []
        for element in array {
            guard let string = element.string else { wrongType(key, "an array of strings"); return nil }
            result.append(string)
        }
        return result
    }

    mutating func sourced(_ key: String) -> Sourced<String>? { string(key).map { Sourced(value: $0, file: file) } }
    mutating func sourcedInt(_ key: String) -> Sourced<Int>? { int(key).map { Sourced(value: $0, file: file) } }
    mutating func sourcedBool(_ key: String) -> Sourced<Bool>? { bool(key).map { Sourced(value: $0, file: file) } }

    /// Adds this table's type errors and one issue per key nobody asked for.
    func finish(_ all: inout [ConfigIssue]) {
        all += issues
        guard let table else { return }
        for key in table.keys.sorted() where !used.contains(key) {
            all.append(ConfigIssue(code: .unknownKey, file: file, key: "\(path).\(key)", reason: "unknown key"))
        }
    }
}
