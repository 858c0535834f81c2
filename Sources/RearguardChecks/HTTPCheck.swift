import FoundationEssentials
import Glibc
import HTTP1
import RearguardCore

/// GETs a URL (http or https) through the shared SwiftNIO HTTP/1 client and checks status and body. Redirects are
/// answers like any other (a 3xx passes unless `expect_status` says otherwise); they are not followed.
///
/// SwiftNIO rather than async-http-client: the agent already runs NIO for its API, and `HTTP1Client` adds one
/// exchange per connection on top of it; async-http-client would add its connection pool, its own Foundation
/// imports and a second copy of the HTTP state machine, for one GET every few seconds.
public struct HTTPCheck: HealthCheck {
    /// What to fetch and expect.
    public let target: HTTPTarget

    /// How much of a body `expect_body` searches: a health page, not a download.
    static let bodyLimit = 64 * 1024

    /// A check for `target`.
    public init(target: HTTPTarget) { self.target = target }

    /// Fetches once; returns at the deadline at the latest.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        guard let request = Self.request(for: target.url) else { return .fail("bad url \(target.url)") }
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return .fail("timeout") }
        let answer: HTTP1Client.Answer
        do {
            answer = try await HTTP1Client(target: request.target, timeout: remaining)
                .request(.GET, request.path, headers: [("user-agent", "rearguard")], bodyLimit: Self.bodyLimit)
        } catch let error as APIError {
            switch error.code {
            case .timeout: return .fail("timeout")
            case .unreachable where error.errno == ECONNREFUSED: return .fail("connection refused")
            default: return .fail(error.message)
            }
        } catch {
            return .fail(Task.isCancelled ? "timeout" : "\(error)".lowercased())
        }
        return Self.judge(status: answer.status, body: answer.body, target: target)
    }

    /// Where a URL points: host, port, TLS and the request target (path and query).
    static func request(for text: String) -> (target: HTTP1Client.Target, path: String)? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = url.host(percentEncoded: false), !host.isEmpty
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let tls = scheme == "https"
        let port = url.port ?? (tls ? 443 : 80)
        var path = url.path(percentEncoded: true)
        if path.isEmpty { path = "/" }
        if let query = url.query(percentEncoded: true) { path += "?" + query }
        return (.tcp(host: host, port: port, tls: tls), path)
    }

    static func judge(status code: Int, body: [UInt8], target: HTTPTarget) -> ProbeOutcome {
        if let expected = target.expectStatus {
            guard code == expected else { return .fail("status \(code), expected \(expected)") }
        } else {
            guard (200...399).contains(code) else { return .fail("status \(code)") }
        }
        if let needle = target.expectBody {
            let text = String(decoding: body, as: UTF8.self)
            guard text.contains(needle) else { return .fail("status \(code), body lacks \"\(needle)\"") }
        }
        return .pass("status \(code)")
    }
}
