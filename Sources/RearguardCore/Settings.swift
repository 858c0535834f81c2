import FoundationEssentials

/// `[host]`: where the host's pieces are, as seen from inside the container.
public struct HostSettings: Sendable, Equatable {
    public var sysroot = "/sysroot"
    public var cmdline = "/proc/cmdline"
    public var bootId = "/proc/sys/kernel/random/boot_id"
    public var stateDir = "/var/lib/rearguard"
    public var hostRun = "/run/host"
    /// Defaults to `<host_run>/zincati/config.d`.
    public var zincatiConfigDir = "/run/host/zincati/config.d"
    public var bus = "unix:path=/run/dbus/system_bus_socket"
}

/// Whether Rearguard acts on its decisions.
public enum AssessmentMode: String, Sendable, Equatable, Codable, CaseIterable {
    case enforce, observe
}

/// `[assessment]`: how a new deployment is judged.
public struct AssessmentSettings: Sendable, Equatable {
    public var mode = AssessmentMode.enforce
    public var soak = Duration.seconds(600)
    public var maxRebootsPerDay = 1
    /// Hold a logind `block` shutdown inhibitor while a known-good boot has a failing required check, and during
    /// probation, so that no update reboot starts on a degraded node.
    public var inhibitWhileFailing = true
}

/// Which mechanism performs a rollback.
public enum RollbackDriverKind: String, Sendable, Equatable, CaseIterable {
    case rpmOstree = "rpm-ostree"
    case ostree
}

/// `[rollback]`: how a rollback is carried out.
public struct RollbackSettings: Sendable, Equatable {
    public var driver = RollbackDriverKind.rpmOstree
    public var transactionTimeout = Duration.seconds(600)
}

/// `[api]`: the local socket.
public struct APISettings: Sendable, Equatable {
    public var socket = "/run/rearguard/rearguard.sock"
    /// The group allowed to use the socket; nil: root only.
    public var group: String?
}

/// `[daemon]`: process supervision.
public struct DaemonSettings: Sendable, Equatable {
    /// The systemd watchdog interval; nil: no watchdog pings.
    public var watchdog: Duration?
}

/// How reboots are coordinated across the fleet.
public enum FleetStrategy: String, Sendable, Equatable, CaseIterable {
    case none
    case fleetLock = "fleet_lock"
}

/// `[fleet]`: FleetLock, as Zincati uses it. Unset keys take what Zincati's own drop-ins say (`updates.strategy`,
/// `updates.fleet_lock.base_url`, `identity.group`), read from `zincatiConfigDirs` when the agent starts.
public struct FleetSettings: Sendable, Equatable {
    /// Set in Rearguard's config; nil: Zincati's `updates.strategy` decides (`fleet_lock` or anything else = none).
    public var strategy: FleetStrategy?
    /// The FleetLock server (`http://...`); nil: Zincati's.
    public var baseURL: String?
    /// The reboot group; nil: Zincati's, else `default`.
    public var group: String?
    /// The longest wait between two attempts after a FleetLock failure (the first is 1 s, then doubling).
    public var retryMax = Duration.seconds(60)
    /// Zincati's drop-in folders, read in order (later wins), as Zincati reads them; by default `/usr/lib`, `/etc` and
    /// `<host_run>` `zincati/config.d`.
    public var zincatiConfigDirs = ["/usr/lib/zincati/config.d", "/etc/zincati/config.d", "/run/host/zincati/config.d"]
}

/// `[metrics]`: an opt-in TCP listener for Prometheus (`GET /metrics` only).
public struct MetricsSettings: Sendable, Equatable {
    /// `ADDR:PORT`; nil: no listener.
    public var listen: HostPort?
}

/// `[greenboot]`: run greenboot's check scripts as checks.
public struct GreenbootSettings: Sendable, Equatable {
    public var enabled = false
}

/// The validated configuration (stage 3 of STYLE L3): every value has its default applied.
public struct Settings: Sendable, Equatable {
    public var host = HostSettings()
    public var assessment = AssessmentSettings()
    public var rollback = RollbackSettings()
    public var api = APISettings()
    public var daemon = DaemonSettings()
    public var greenboot = GreenbootSettings()
    public var fleet = FleetSettings()
    public var metrics = MetricsSettings()
    /// The configured checks, in first-seen order (greenboot scripts are not expanded here).
    public var checks: [CheckSpec] = []

    /// The built-in defaults: no checks at all, so nothing ever probes the internet.
    public init() {}

    /// Validates merged input; throws every issue, each naming the file that set the value.
    public static func validate(_ input: ConfigInput) throws(ConfigError) -> Settings {
        var v = Validator()
        var s = Settings()
        let h = input.host
        s.host.sysroot = v.path(h.sysroot, "host.sysroot") ?? s.host.sysroot
        s.host.cmdline = v.path(h.cmdline, "host.cmdline") ?? s.host.cmdline
        s.host.bootId = v.path(h.bootId, "host.boot_id") ?? s.host.bootId
        s.host.stateDir = v.path(h.stateDir, "host.state_dir") ?? s.host.stateDir
        s.host.hostRun = v.path(h.hostRun, "host.host_run") ?? s.host.hostRun
        s.host.zincatiConfigDir = v.path(h.zincatiConfigDir, "host.zincati_config_dir")
            ?? (s.host.hostRun.hasSuffix("/") ? s.host.hostRun : s.host.hostRun + "/") + "zincati/config.d"
        s.host.bus = v.nonEmpty(h.bus, "host.bus") ?? s.host.bus
        s.assessment.mode = v.choice(input.assessment.mode, "assessment.mode", AssessmentMode.self) ?? s.assessment.mode
        s.assessment.soak = v.duration(input.assessment.soak, "assessment.soak", allowZero: false) ?? s.assessment.soak
        if let n = input.assessment.maxRebootsPerDay {
            if n.value >= 0 { s.assessment.maxRebootsPerDay = n.value } else {
                v.fail(.invalidValue, n.file, "assessment.max_reboots_per_day", "must be 0 or more")
            }
        }
        s.assessment.inhibitWhileFailing = input.assessment.inhibitWhileFailing?.value ?? s.assessment.inhibitWhileFailing
        s.rollback.driver = v.choice(input.rollback.driver, "rollback.driver", RollbackDriverKind.self) ?? s.rollback.driver
        s.rollback.transactionTimeout = v.duration(input.rollback.transactionTimeout, "rollback.transaction_timeout", allowZero: false)
            ?? s.rollback.transactionTimeout
        s.api.socket = v.path(input.api.socket, "api.socket") ?? s.api.socket
        s.api.group = v.nonEmpty(input.api.group, "api.group")
        s.daemon.watchdog = v.duration(input.daemon.watchdog, "daemon.watchdog", allowZero: false)
        s.greenboot.enabled = input.greenboot.enabled?.value ?? false
        s.fleet.strategy = v.choice(input.fleet.strategy, "fleet.strategy", FleetStrategy.self)
        if let url = input.fleet.baseURL {
            if url.value.hasPrefix("http://") && url.value.count > "http://".count {
                s.fleet.baseURL = url.value
            } else {
                v.fail(.invalidValue, url.file, "fleet.base_url", "must be an http:// URL (https is not supported yet)")
            }
        }
        s.fleet.group = v.nonEmpty(input.fleet.group, "fleet.group")
        s.fleet.retryMax = v.duration(input.fleet.retryMax, "fleet.retry_max", allowZero: false) ?? s.fleet.retryMax
        s.fleet.zincatiConfigDirs[2] = (s.host.hostRun.hasSuffix("/") ? s.host.hostRun : s.host.hostRun + "/") + "zincati/config.d"
        if let dirs = input.fleet.zincatiConfigDirs {
            if dirs.value.allSatisfy({ $0.hasPrefix("/") }) { s.fleet.zincatiConfigDirs = dirs.value } else {
                v.fail(.invalidValue, dirs.file, "fleet.zincati_config_dirs", "must be absolute paths")
            }
        }
        if let listen = input.metrics.listen {
            if let hp = HostPort.parse(listen.value, defaultPort: nil) {
                s.metrics.listen = hp
            } else {
                v.fail(.invalidValue, listen.file, "metrics.listen", "must be ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464")
            }
        }
        s.checks = input.checks.compactMap { v.check($0) }
        guard v.issues.isEmpty else { throw ConfigError(issues: v.issues) }
        return s
    }
}

/// Collects stage-3 issues while turning raw values into typed ones.
private struct Validator {
    var issues: [ConfigIssue] = []

    mutating func fail(_ code: ConfigIssue.Code, _ file: String, _ key: String, _ reason: String) {
        issues.append(ConfigIssue(code: code, file: file, key: key, reason: reason))
    }

    mutating func path(_ value: Sourced<String>?, _ key: String) -> String? {
        guard let value else { return nil }
        guard value.value.hasPrefix("/") else { fail(.invalidValue, value.file, key, "must be an absolute path"); return nil }
        return value.value
    }

    mutating func nonEmpty(_ value: Sourced<String>?, _ key: String) -> String? {
        guard let value else { return nil }
        guard !value.value.isEmpty else { fail(.invalidValue, value.file, key, "must not be empty"); return nil }
        return value.value
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ value: Sourced<String>?, _ key: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let value else { return nil }
        guard let e = E(rawValue: value.value) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
            fail(.invalidValue, value.file, key, "must be \(allowed), not \"\(value.value)\"")
            return nil
        }
        return e
    }

    mutating func duration(_ value: Sourced<String>?, _ key: String, allowZero: Bool) -> Duration? {
        guard let value else { return nil }
        return duration(value.value, file: value.file, key: key, allowZero: allowZero)
    }

    mutating func duration(_ text: String, file: String, key: String, allowZero: Bool) -> Duration? {
        guard let d = ConfigDuration.parse(text) else {
            fail(.invalidValue, file, key, "must be a duration such as \"500ms\", \"2s\", \"10m\" or \"1h\", not \"\(text)\"")
            return nil
        }
        guard allowZero || d > .zero else { fail(.invalidValue, file, key, "must be more than zero"); return nil }
        return d
    }

    static let kindKeys: [CheckKind: Set<String>] = [
        .dns: ["server", "query", "type", "expect_rcode", "expect_answers"],
        .ntp: ["server", "max_stratum", "max_offset"],
        .dhcp: ["interface", "mode", "expect_server"],
        .tcp: ["address"],
        .http: ["url", "expect_status", "expect_body"],
        .unit: ["unit"],
        .command: ["command"],
    ]
    static let dnsTypes = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "PTR", "SOA", "NS"]
    static let rcodes = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]

    mutating func check(_ c: CheckFragment) -> CheckSpec? {
        let before = issues.count
        let f = c.file
        let label = c.label
        func key(_ k: String) -> String { "\(label).\(k)" }
        guard let name = c.name else { fail(.missingKey, f, key("name"), "every check needs a name"); return nil }
        if name.isEmpty || name.contains(where: { $0.isWhitespace }) {
            fail(.invalidValue, f, key("name"), "must be non-empty and without spaces")
        }
        guard let kindText = c.kind else { fail(.missingKey, f, key("kind"), "every check needs a kind"); return nil }
        guard let kind = CheckKind(rawValue: kindText) else {
            fail(.invalidValue, f, key("kind"), "must be one of \(CheckKind.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(kindText)\"")
            return nil
        }
        let present: [String: Bool] = [
            "server": c.server != nil, "query": c.query != nil, "type": c.type != nil, "expect_rcode": c.expectRcode != nil,
            "expect_answers": c.expectAnswers != nil, "max_stratum": c.maxStratum != nil, "max_offset": c.maxOffset != nil,
            "interface": c.interface != nil, "mode": c.mode != nil, "expect_server": c.expectServer != nil,
            "address": c.address != nil, "url": c.url != nil, "expect_status": c.expectStatus != nil,
            "expect_body": c.expectBody != nil, "unit": c.unit != nil, "command": c.command != nil,
        ]
        let allowed = Self.kindKeys[kind] ?? []
        for (k, isSet) in present.sorted(by: { $0.key < $1.key }) where isSet && !allowed.contains(k) {
            fail(.unknownKey, f, key(k), "not a key of kind \(kind.rawValue)")
        }
        var spec = CheckSpec(name: name, target: .command([]))
        spec.required = c.required ?? true
        if let t = c.timeout { spec.timeout = duration(t, file: f, key: key("timeout"), allowZero: false) ?? spec.timeout }
        if let t = c.interval { spec.interval = duration(t, file: f, key: key("interval"), allowZero: false) ?? spec.interval }
        if let t = c.startPeriod { spec.startPeriod = duration(t, file: f, key: key("start_period"), allowZero: true) ?? spec.startPeriod }
        if let n = c.failureThreshold {
            if n >= 1 { spec.failureThreshold = n } else { fail(.invalidValue, f, key("failure_threshold"), "must be 1 or more") }
        }
        if let n = c.successThreshold {
            if n >= 1 { spec.successThreshold = n } else { fail(.invalidValue, f, key("success_threshold"), "must be 1 or more") }
        }
        if let u = c.restartUnit {
            if u.isEmpty { fail(.invalidValue, f, key("restart_unit"), "must not be empty") } else { spec.restartUnit = u }
        }
        func required<T>(_ value: T?, _ k: String) -> T? {
            if value == nil { fail(.missingKey, f, key(k), "kind \(kind.rawValue) needs \(k)") }
            return value
        }
        func server(_ text: String?, _ k: String, port: UInt16) -> HostPort? {
            guard let text = required(text, k) else { return nil }
            guard let hp = HostPort.parse(text, defaultPort: port), IPLiteral.isIP(hp.host) else {
                fail(.invalidValue, f, key(k), "must be an IP address with an optional port, e.g. \"127.0.0.1:\(port)\" or \"[::1]:\(port)\", not \"\(text)\"")
                return nil
            }
            return hp
        }
        switch kind {
        case .dns:
            let hp = server(c.server, "server", port: 53)
            let query = required(c.query, "query")
            let type = (c.type ?? "A").uppercased()
            if !Self.dnsTypes.contains(type) {
                fail(.invalidValue, f, key("type"), "must be one of \(Self.dnsTypes.joined(separator: ", ")), not \"\(c.type ?? "")\"")
            }
            let rcode = (c.expectRcode ?? "NOERROR").uppercased()
            if !Self.rcodes.contains(rcode) {
                fail(.invalidValue, f, key("expect_rcode"), "must be one of \(Self.rcodes.joined(separator: ", ")), not \"\(c.expectRcode ?? "")\"")
            }
            if let query, query.isEmpty { fail(.invalidValue, f, key("query"), "must not be empty") }
            if let hp, let query {
                spec.target = .dns(DNSTarget(server: hp, query: query, type: type, expectRcode: rcode, expectAnswers: c.expectAnswers))
            }
        case .ntp:
            let hp = server(c.server, "server", port: 123)
            let maxStratum = c.maxStratum ?? 15
            if !(1...15).contains(maxStratum) { fail(.invalidValue, f, key("max_stratum"), "must be 1 to 15") }
            let maxOffset = c.maxOffset.flatMap { duration($0, file: f, key: key("max_offset"), allowZero: false) }
            if let hp { spec.target = .ntp(NTPTarget(server: hp, maxStratum: maxStratum, maxOffset: maxOffset)) }
        case .dhcp:
            let interface = required(c.interface, "interface")
            if let interface, interface.isEmpty || interface.count > 15 || interface.contains("/") {
                fail(.invalidValue, f, key("interface"), "must be an interface name (1 to 15 characters)")
            }
            var mode: DHCPMode?
            if let m = required(c.mode, "mode") {
                mode = DHCPMode(rawValue: m)
                if mode == nil { fail(.invalidValue, f, key("mode"), "must be \"discover\" or \"inform\", not \"\(m)\"") }
            }
            if let s = c.expectServer, !IPLiteral.isIPv4(s) {
                fail(.invalidValue, f, key("expect_server"), "must be an IPv4 address, not \"\(s)\"")
            }
            if let interface, let mode { spec.target = .dhcp(DHCPTarget(interface: interface, mode: mode, expectServer: c.expectServer)) }
        case .tcp:
            if let text = required(c.address, "address") {
                if let hp = HostPort.parse(text, defaultPort: nil) { spec.target = .tcp(address: hp) } else {
                    fail(.invalidValue, f, key("address"), "must be \"host:port\", not \"\(text)\"")
                }
            }
        case .http:
            if let url = required(c.url, "url") {
                if HTTPTarget(url: url).endpoint == nil {
                    fail(.invalidValue, f, key("url"), "must be an http:// or https:// url with a host (and a port from 1 to 65535), not \"\(url)\"")
                }
                if let s = c.expectStatus, !(100...599).contains(s) { fail(.invalidValue, f, key("expect_status"), "must be 100 to 599") }
                spec.target = .http(HTTPTarget(url: url, expectStatus: c.expectStatus, expectBody: c.expectBody))
            }
        case .unit:
            if let unit = required(c.unit, "unit") {
                if unit.isEmpty || !unit.contains(".") { fail(.invalidValue, f, key("unit"), "must be a unit name such as \"dnsmasq.service\"") }
                spec.target = .unit(name: unit)
            }
        case .command:
            if let command = required(c.command, "command") {
                if command.first?.isEmpty ?? true { fail(.invalidValue, f, key("command"), "must name a program first") }
                spec.target = .command(command)
            }
        }
        return issues.count == before ? spec : nil
    }
}

/// Recognises IP literals without touching the network (no C imports in Core).
public enum IPLiteral {
    /// True for dotted-quad IPv4 (`127.0.0.1`).
    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && (Int(p) ?? 256) <= 255
        }
    }

    /// True for an IPv6 literal (`::1`, `fd00::53`), without zone or brackets.
    public static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        if let last = text.split(separator: ":").last, last.contains(".") {
            return isIPv4(String(last)) && text.dropLast(last.count).allSatisfy { $0 == ":" || $0.isHexDigit }
        }
        let groups = text.components(separatedBy: ":")
        let doubleColons = text.components(separatedBy: "::").count - 1
        guard doubleColons <= 1, groups.count <= 8, doubleColons == 1 || groups.count == 8 else { return false }
        return groups.allSatisfy { $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }
    }

    /// True for either family.
    public static func isIP(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }
}
