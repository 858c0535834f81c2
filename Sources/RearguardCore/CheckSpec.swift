import FoundationEssentials
/// The kinds of health check Rearguard knows.
public enum CheckKind: String, Sendable, Codable, Equatable, CaseIterable {
    case dns, ntp, dhcp, tcp, http, unit, command
}

/// A host and port as written in config (`"127.0.0.1:53"`, `"[::1]:53"`, `"::1"`, `"example.lan:80"`).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    /// The host: an IP literal (without brackets) or a name.
    public var host: String
    /// The port.
    public var port: UInt16

    /// Creates a host and port.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`, a bare host or a bare IPv6 literal; `defaultPort` fills a missing port.
    public static func parse(_ text: String, defaultPort: UInt16?) -> HostPort? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty else { return nil }
            if rest.isEmpty { return defaultPort.map { HostPort(host: host, port: $0) } }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), port > 0 else { return nil }
            return HostPort(host: host, port: port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons > 1 {  // a bare IPv6 literal
            return defaultPort.map { HostPort(host: text, port: $0) }
        }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            let host = String(text[..<colon])
            guard !host.isEmpty, let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
            return HostPort(host: host, port: port)
        }
        guard !text.isEmpty, !text.contains(where: { $0 == " " || $0 == "/" }) else { return nil }
        return defaultPort.map { HostPort(host: text, port: $0) }
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What a DNS check asks and expects.
public struct DNSTarget: Sendable, Equatable {
    /// Where to send the query.
    public var server: HostPort
    /// The name to look up.
    public var query: String
    /// The record type (`A`, `AAAA`, `CNAME`, `MX`, `TXT`, `SRV`, `PTR`, `SOA`, `NS`).
    public var type: String
    /// The expected response code (`NOERROR`, `NXDOMAIN`, ...).
    public var expectRcode: String
    /// When set, the answers (presentation form) must be exactly this set.
    public var expectAnswers: [String]?

    /// Creates a DNS target.
    public init(server: HostPort, query: String, type: String = "A", expectRcode: String = "NOERROR", expectAnswers: [String]? = nil) {
        self.server = server
        self.query = query
        self.type = type
        self.expectRcode = expectRcode
        self.expectAnswers = expectAnswers
    }
}

/// What an NTP check asks and expects.
public struct NTPTarget: Sendable, Equatable {
    /// Where to send the mode 3 request.
    public var server: HostPort
    /// The highest acceptable stratum.
    public var maxStratum: Int
    /// When set, the largest acceptable clock offset.
    public var maxOffset: Duration?

    /// Creates an NTP target.
    public init(server: HostPort, maxStratum: Int = 15, maxOffset: Duration? = nil) {
        self.server = server
        self.maxStratum = maxStratum
        self.maxOffset = maxOffset
    }
}

/// How a DHCP check probes the server.
public enum DHCPMode: String, Sendable, Equatable, CaseIterable {
    /// Broadcast a DISCOVER and expect an OFFER.
    case discover
    /// Send an INFORM from the interface's address and expect an ACK.
    case inform
}

/// What a DHCP check asks and expects.
public struct DHCPTarget: Sendable, Equatable {
    /// The interface the probe goes out of.
    public var interface: String
    /// DISCOVER or INFORM.
    public var mode: DHCPMode
    /// When set, the reply's server identifier (option 54) must be this IPv4 address.
    public var expectServer: String?

    /// Creates a DHCP target.
    public init(interface: String, mode: DHCPMode, expectServer: String? = nil) {
        self.interface = interface
        self.mode = mode
        self.expectServer = expectServer
    }
}

/// What an HTTP check fetches and expects.
public struct HTTPTarget: Sendable, Equatable {
    /// The URL to GET.
    public var url: String
    /// When set, the exact status; otherwise any 200-399 passes.
    public var expectStatus: Int?
    /// When set, the body must contain this substring.
    public var expectBody: String?

    /// Creates an HTTP target.
    public init(url: String, expectStatus: Int? = nil, expectBody: String? = nil) {
        self.url = url
        self.expectStatus = expectStatus
        self.expectBody = expectBody
    }

    /// Where a URL points, as the HTTP check connects to it.
    public struct Endpoint: Sendable, Equatable {
        /// The host name or address (an IPv6 address without brackets).
        public var host: String
        /// 1 to 65535; 80 or 443 when the URL names none.
        public var port: Int
        /// https.
        public var tls: Bool
        /// The request target: path (at least "/") and query, percent-encoded as written.
        public var path: String
        /// `user:password` from the URL, sent as Basic authorization.
        public var credentials: String?
    }

    /// The endpoint, or nil when the URL is not an http or https URL with a host and a port in 1...65535.
    public var endpoint: Endpoint? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = parsed.host(percentEncoded: false), !host.isEmpty
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let tls = scheme == "https"
        let port = parsed.port ?? (tls ? 443 : 80)
        guard (1...65535).contains(port) else { return nil }
        var path = parsed.path(percentEncoded: true)
        if path.isEmpty { path = "/" }
        if let query = parsed.query(percentEncoded: true) { path += "?" + query }
        let credentials = parsed.user(percentEncoded: false).map { $0 + ":" + (parsed.password(percentEncoded: false) ?? "") }
        return Endpoint(host: host, port: port, tls: tls, path: path, credentials: credentials)
    }
}

/// The kind-specific part of a check.
public enum CheckTarget: Sendable, Equatable {
    case dns(DNSTarget)
    case ntp(NTPTarget)
    case dhcp(DHCPTarget)
    case tcp(address: HostPort)
    case http(HTTPTarget)
    case unit(name: String)
    /// Program and arguments, run without a shell.
    case command([String])

    /// The kind this target belongs to.
    public var kind: CheckKind {
        switch self {
        case .dns: .dns
        case .ntp: .ntp
        case .dhcp: .dhcp
        case .tcp: .tcp
        case .http: .http
        case .unit: .unit
        case .command: .command
        }
    }
}

/// One validated check from the config.
public struct CheckSpec: Sendable, Equatable {
    /// Unique name.
    public var name: String
    /// Whether the check decides if a boot is good (false: reported only).
    public var required: Bool
    /// The deadline of one run.
    public var timeout: Duration
    /// Time between runs.
    public var interval: Duration
    /// Grace after boot before failures count.
    public var startPeriod: Duration
    /// Consecutive failures that turn the check failing.
    public var failureThreshold: Int
    /// Consecutive passes that turn the check passing.
    public var successThreshold: Int
    /// The unit serving this check, which the assessment may restart.
    public var restartUnit: String?
    /// What to probe.
    public var target: CheckTarget

    /// The check's kind.
    public var kind: CheckKind { target.kind }

    /// Creates a check with the config's defaults for everything but name and target.
    public init(
        name: String, target: CheckTarget, required: Bool = true, timeout: Duration = .seconds(2),
        interval: Duration = .seconds(10), startPeriod: Duration = .zero, failureThreshold: Int = 3,
        successThreshold: Int = 1, restartUnit: String? = nil
    ) {
        self.name = name
        self.target = target
        self.required = required
        self.timeout = timeout
        self.interval = interval
        self.startPeriod = startPeriod
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.restartUnit = restartUnit
    }
}
