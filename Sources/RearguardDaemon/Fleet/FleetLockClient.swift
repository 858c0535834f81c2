import FoundationEssentials
import NIOHTTP1
import RearguardAPI

/// A failed FleetLock call: the server's own `{"kind", "value"}` when it answered, else what went wrong on the way
/// (`unreachable`, `timeout`, `bad_response`).
public struct FleetLockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error's kind, e.g. `failed_lock` (the group is full) or `unreachable`.
    public var kind: String
    /// Its detail.
    public var value: String
    /// The HTTP status when the server answered.
    public var status: Int?

    public init(kind: String, value: String, status: Int? = nil) {
        self.kind = kind
        self.value = value
        self.status = status
    }

    public var description: String { "\(kind): \(value)" + (status.map { " (HTTP \($0))" } ?? "") }
}

/// A client of a FleetLock server (Zincati's `docs/development/fleetlock/protocol.md`): `POST {base}/v1/pre-reboot`
/// takes a reboot slot for this node (recursive: a node that holds one gets it again), `POST {base}/v1/steady-state`
/// gives it back. Each call sends `fleet-lock-protocol: true` and `{"client_params": {"id": ..., "group": ...}}`;
/// 200 is success, anything else an error with the server's `kind` and `value`.
public struct FleetLockClient: Sendable {
    /// The server, e.g. `http://10.0.0.5:8080/`.
    public let baseURL: String
    /// The node id: Zincati's, so the server sees one node.
    public let id: String
    /// The reboot group.
    public let group: String
    /// Why no call can be made (no usable base URL, no node id); every call then fails with kind `config`, so a
    /// misconfigured fleet never lets a reboot through and never stops the checks.
    public let problem: String?
    private let host: String
    private let port: Int
    private let prefix: String
    private let timeout: Duration

    /// A client for `baseURL` (`http://host[:port][/path]`); `problem` says why it cannot call, if it cannot.
    public init(baseURL: String?, id: String?, group: String, problem: String? = nil, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL ?? "-"
        self.id = id ?? "-"
        self.group = group
        self.timeout = timeout
        var parsed: (HostPortText, String)?
        if let baseURL, baseURL.hasPrefix("http://") {
            let rest = baseURL.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" }
            var path = String(rest.dropFirst(authority.count))
            while path.hasSuffix("/") { path.removeLast() }
            parsed = HostPortText(String(authority)).map { ($0, path) }
        }
        host = parsed?.0.host ?? ""
        port = parsed?.0.port ?? 0
        prefix = parsed?.1 ?? ""
        if let problem {
            self.problem = problem
        } else if baseURL == nil {
            self.problem = "no FleetLock base_url: set [fleet] base_url or Zincati's [updates.fleet_lock] base_url"
        } else if parsed == nil {
            self.problem = "base_url \(baseURL ?? "") is not an http://host[:port][/path] URL (https is not supported yet)"
        } else if id == nil {
            self.problem = "no node id"
        } else {
            self.problem = nil
        }
    }

    /// `RecursiveLock`: takes (or keeps) this node's reboot slot.
    public func preReboot() async throws(FleetLockError) { try await call("/v1/pre-reboot") }

    /// `UnlockIfHeld`: gives this node's slot back (a node holding none succeeds too).
    public func steadyState() async throws(FleetLockError) { try await call("/v1/steady-state") }

    private struct Body: Encodable {
        struct Params: Encodable { var id: String, group: String }
        var client_params: Params  // swiftlint:disable:this identifier_name
    }

    private struct ServerError: Decodable { var kind: String?, value: String? }

    private func call(_ path: String) async throws(FleetLockError) {
        if let problem { throw FleetLockError(kind: "config", value: problem) }
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(Body(client_params: .init(id: id, group: group))))
        } catch {
            throw FleetLockError(kind: "internal", value: "cannot encode the request: \(error)")
        }
        let answer: HTTP1Client.Answer
        do {
            answer = try await HTTP1Client(target: .tcp(host: host, port: port), timeout: timeout).request(
                .POST, prefix + path,
                headers: [("fleet-lock-protocol", "true"), ("content-type", "application/json")], body: body)
        } catch let error as APIError {
            let kind = error.code == .timeout ? "timeout" : error.code == .unreachable ? "unreachable" : "bad_response"
            throw FleetLockError(kind: kind, value: error.message)
        } catch {
            throw FleetLockError(kind: "unreachable", value: "\(error)")
        }
        guard answer.status != 200 else { return }
        let server = try? JSONDecoder().decode(ServerError.self, from: Data(answer.body))
        throw FleetLockError(
            kind: server?.kind ?? "http_\(answer.status)",
            value: server?.value ?? String(decoding: answer.body.prefix(200), as: UTF8.self), status: answer.status)
    }
}

/// `host`, `host:port` or `[v6]:port` of a URL's authority; port 80 when none.
private struct HostPortText {
    var host: String
    var port: Int

    init?(_ text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { port = 80 } else {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            host = text
            port = 80
        }
        guard !host.isEmpty else { return nil }
    }
}
