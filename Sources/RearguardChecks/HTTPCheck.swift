import FoundationEssentials
import Glibc
import HTTP1
import RearguardCore

/// GETs a URL (http or https) through the shared SwiftNIO HTTP/1 client and checks status and body. Redirects are
/// answers like any other (a 3xx passes unless `expect_status` says otherwise); they are not followed. Credentials in
/// the URL go as Basic authorization, as libcurl sent them. The result is stamped when this task resumes: unlike the
/// socket probes on their own threads, an answer that arrives at the deadline on a busy pool can still miss it.
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
        guard let endpoint = target.endpoint else { return .fail("bad url \(target.url)") }
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return .fail("timeout") }
        var headers = [("user-agent", "rearguard")]
        if let credentials = endpoint.credentials {
            headers.append(("authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        }
        let answer: HTTP1Client.Answer
        do {
            answer = try await HTTP1Client(target: .tcp(host: endpoint.host, port: endpoint.port, tls: endpoint.tls), timeout: remaining)
                .request(.GET, endpoint.path, headers: headers, bodyLimit: Self.bodyLimit)
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
