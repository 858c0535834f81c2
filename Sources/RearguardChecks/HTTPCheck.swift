import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RearguardCore

/// GETs a URL through Foundation's URLSession (libcurl on Linux) and checks status and body.
public struct HTTPCheck: HealthCheck {
    /// What to fetch and expect.
    public let target: HTTPTarget

    /// A check for `target`.
    public init(target: HTTPTarget) { self.target = target }

    /// Fetches once; returns at the deadline at the latest (the request is cancelled then).
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        guard let url = URL(string: target.url) else { return .fail("bad url \(target.url)") }
        let remaining = ConfigDuration.seconds(ContinuousClock.now.duration(to: deadline))
        guard remaining > 0 else { return .fail("timeout") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = remaining
        configuration.timeoutIntervalForResource = remaining
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        let session = URLSession(configuration: configuration)
        defer { session.invalidateAndCancel() }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalAndRemoteCacheData, timeoutInterval: remaining)
        request.setValue("rearguard", forHTTPHeaderField: "User-Agent")
        let target = self.target
        let once = ResumeOnce<ProbeOutcome>()
        let task = session.dataTask(with: request) { data, response, error in
            once.resume(Self.judge(data: data, response: response, error: error, target: target))
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.attach(continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
            once.resume(.fail("timeout"))
        }
    }

    static func judge(data: Data?, response: URLResponse?, error: (any Error)?, target: HTTPTarget) -> ProbeOutcome {
        if let error {
            let e = error as NSError
            if e.domain == NSURLErrorDomain {
                switch e.code {
                case NSURLErrorTimedOut, NSURLErrorCancelled: return .fail("timeout")
                case NSURLErrorCannotConnectToHost: return .fail("connection refused")
                default: break
                }
            }
            return .fail(e.localizedDescription.lowercased())
        }
        guard let http = response as? HTTPURLResponse else { return .fail("no http response") }
        let code = http.statusCode
        if let expected = target.expectStatus {
            guard code == expected else { return .fail("status \(code), expected \(expected)") }
        } else {
            guard (200...399).contains(code) else { return .fail("status \(code)") }
        }
        if let needle = target.expectBody {
            let body = String(decoding: data ?? Data(), as: UTF8.self)
            guard body.contains(needle) else { return .fail("status \(code), body lacks \"\(needle)\"") }
        }
        return .pass("status \(code)")
    }
}
