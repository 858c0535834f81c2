#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RearguardAPI
import Testing
import TestSupport

/// Generated malformed requests over raw sockets: the server answers each with a JSON error or closes, never
/// crashes, never grows, and keeps serving others meanwhile.
@Suite(.serialized) struct MalformedRequestTests {
    /// A deterministic generator (SplitMix64), so a failing case can be replayed by its number.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// One case: the bytes to send and whether the server may answer 200 (a few generated cases happen to be valid).
    struct Case {
        var kind: String
        var bytes: [UInt8]
        var mayPass = false
    }

    static func makeCase(_ n: Int) -> Case {
        var rng = Generator(state: UInt64(n) &* 7919)
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        func text(_ count: Int) -> String {
            String((0..<count).map { _ in "abcdefghijklmnopqrstuvwxyz{}[]\":, 0123456789\\/%".randomElement(using: &rng) ?? "a" })
        }
        func request(_ line: String, _ headers: [String], _ body: [UInt8] = []) -> [UInt8] {
            Array((([line] + headers).joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
        }
        let paths = ["/v1/status", "/v1/mode", "/v1/hold", "/v1/checks/run", "/metrics", "/nope", "/v1/status?x=1"]
        let path = paths.randomElement(using: &rng) ?? "/v1/status"
        let validMode = Array(#"{"mode": "observe"}"#.utf8)
        switch n % 12 {
        case 0:
            return Case(kind: "random bytes", bytes: random(Int.random(in: 1...2048, using: &rng)))
        case 1:
            let lines = ["GET", "GET /v1/status", "GET /v1/status HTTP/9.9", "get /v1/status HTTP/1.1", "GET  HTTP/1.1",
                         "GET /v1/\u{0}status HTTP/1.1", "BREW /v1/status HTTP/1.1", "GET /v1/status HTTP/1.1 extra",
                         " /v1/status HTTP/1.1", "GET \(text(64)) HTTP/1.1"]
            return Case(kind: "bad request line", bytes: request(lines.randomElement(using: &rng) ?? "GET", ["Host: x"]))
        case 2:
            return Case(kind: "huge uri", bytes: request("GET /v1/" + String(repeating: "a", count: Int.random(in: 20_000...120_000, using: &rng)) + " HTTP/1.1", ["Host: x"]))
        case 3:
            return Case(kind: "huge header", bytes: request("GET \(path) HTTP/1.1", ["Host: x", "X-Pad: " + String(repeating: "p", count: Int.random(in: 17_000...100_000, using: &rng))]))
        case 4:
            let count = Int.random(in: 600...3000, using: &rng)
            return Case(kind: "many headers", bytes: request("GET \(path) HTTP/1.1", (0..<count).map { "X-H\($0): v" }))
        case 5:
            return Case(kind: "header without colon", bytes: request("GET \(path) HTTP/1.1", ["Host: x", "X" + text(30).replacingOccurrences(of: ":", with: "")]))
        case 6:
            let size = Int.random(in: 5_000...2_000_000, using: &rng)
            return Case(kind: "huge body", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Content-Length: \(size)"], Array(repeating: UInt8(ascii: "{"), count: min(size, 300_000))))
        case 7:
            let lengths = ["-1", "abc", "1e3", "99999999999999999999999", "4, 5", "0x10", ""]
            return Case(kind: "bad content-length", bytes: request("POST \(path) HTTP/1.1", ["Host: x", "Content-Length: \(lengths.randomElement(using: &rng) ?? "-1")"], validMode))
        case 8:
            // Two different lengths, or a length larger than the body sent before the client hangs up.
            if Bool.random(using: &rng) {
                return Case(kind: "two content-lengths", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Content-Length: 19", "Content-Length: 3"], validMode))
            }
            return Case(kind: "short body", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Content-Length: \(validMode.count + Int.random(in: 1...500, using: &rng))"], validMode))
        case 9:
            let body = Array(validMode.prefix(Int.random(in: 0..<validMode.count, using: &rng))) + Array(text(Int.random(in: 0...40, using: &rng)).utf8)
            return Case(kind: "bad json", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Content-Length: \(body.count)"], body))
        case 10:
            let modes = [text(Int.random(in: 0...30, using: &rng)), "OBSERVE", "enforce ", "", "null", "observe\u{0}"]
            let body = Array(try! JSONSerialization.data(withJSONObject: ["mode": modes.randomElement(using: &rng) ?? ""]))
            return Case(kind: "bad mode", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Content-Length: \(body.count)"], body))
        default:
            // Chunked bodies: over the limit, or with broken chunk sizes.
            let chunk = Bool.random(using: &rng) ? "2000\r\n" + String(repeating: "z", count: 0x2000) + "\r\n0\r\n\r\n" : "zz\r\nabc\r\n0\r\n\r\n"
            return Case(kind: "chunked", bytes: request("POST /v1/mode HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"]) + Array(chunk.utf8))
        }
    }

    /// Sends one case and checks the answer: a JSON error (or a close), never a 5xx. Returns the status (0: closed
    /// without an answer).
    @discardableResult
    static func run(_ c: Case, number: Int, socket: String) throws -> Int {
        let client = try RawClient(socket)
        client.send(c.bytes)
        client.finishSending()
        let (bytes, _) = client.readAll()
        guard !bytes.isEmpty else {
            // Only a request the parser cannot even begin to read may be closed without an answer.
            if c.kind == "random bytes" { return 0 }
            throw RawError("case \(number) (\(c.kind)): closed without an answer")
        }
        guard let answer = HTTPAnswer(bytes) else {
            throw RawError("case \(number) (\(c.kind)): not an HTTP answer: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        if answer.status == 200 && (c.mayPass || c.kind == "random bytes") { return 200 }
        guard (400..<500).contains(answer.status), answer.errorCode != nil else {
            throw RawError("case \(number) (\(c.kind)): \(answer.status) \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
        }
        return answer.status
    }

    @Test func thousandsOfMalformedRequestsGetJSONErrorsAndMemoryStaysFlat() async throws {
        try await LiveServer.with { live in
            let socket = live.socket
            let warmUp = 600, total = 10_000
            try await offPool { for n in 0..<warmUp { try Self.run(Self.makeCase(n), number: n, socket: socket) } }
            let before = residentKiB()
            // Four clients at once, each its own share of the cases.
            let outcomes = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        try await offPool {
                            var counts: [Int: Int] = [:]
                            for n in stride(from: warmUp + worker, to: total, by: 4) {
                                let c = Self.makeCase(n)
                                let status = try Self.run(c, number: n, socket: socket)
                                counts[status, default: 0] += 1
                                // REARGUARD_SWEEP_DEBUG=1 lists every case's kind and answer.
                                if ProcessInfo.processInfo.environment["REARGUARD_SWEEP_DEBUG"] != nil { print("sweep \(n) \(c.kind) \(status)") }
                            }
                            return counts
                        }
                    }
                }
                var all: [Int: Int] = [:]
                for try await counts in group { all.merge(counts, uniquingKeysWith: +) }
                return all
            }
            let after = residentKiB()
            // The server still serves, and what it kept is bounded (in-process: the test's own clients count too).
            let status = try await curl(socket, ["http://localhost/v1/status"])
            #expect(status.status == 200)
            #expect(after - before < 16 * 1024, "rss grew from \(before) KiB to \(after) KiB over \(total - warmUp) cases")
            let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "closed" : String($0.key)): \($0.value)" }
            print("malformed sweep: \(total - warmUp) cases after \(warmUp) warm-up, answers \(summary.joined(separator: ", ")); rss \(before) KiB -> \(after) KiB")
        }
    }

    @Test func slowClientsDoNotBlockOthersAndAreClosedAtTheDeadline() async throws {
        try await LiveServer.with { live in
            let socket = live.socket
            // 40 clients that dribble a request head one byte every 100 ms and never finish it.
            let slow = try (0..<40).map { _ in try RawClient(socket, receiveTimeout: 5) }
            let dribble = Array("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            let started = Date()
            let served = try await withThrowingTaskGroup(of: [Double].self) { group in
                group.addTask {
                    try await offPool {
                        for i in 0..<8 {
                            for client in slow { client.send([dribble[i]]) }
                            Thread.sleep(forTimeInterval: 0.1)
                        }
                        return []
                    }
                }
                group.addTask {
                    // Meanwhile others are answered at once.
                    try await offPool {
                        try (0..<50).map { _ in
                            let t = Date()
                            let client = try RawClient(socket)
                            client.send(Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                            guard client.readResponse()?.status == 200 else { throw RawError("status not served") }
                            return Date().timeIntervalSince(t)
                        }
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all
            }
            #expect(served.count == 50)
            #expect((served.max() ?? 1) < 0.5, "slowest status while slow clients dribble: \(served.max() ?? 0) s")
            // The request deadline (1 s in the tests) closes every slow connection without an answer.
            let closed = try await offPool { slow.map { $0.readAll().closed } }
            #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) slow clients still open")
            #expect(Date().timeIntervalSince(started) < 4)
        }
    }

    @Test func connectionsOverTheLimitAreClosedAndTheRestServed() async throws {
        var limits = LiveServer.testLimits
        limits.connections = 8
        limits.requestTimeout = .seconds(5)
        try await LiveServer.with(limits: limits) { live in
            let socket = live.socket
            let idle = try (0..<8).map { _ in try RawClient(socket) }
            try await Task.sleep(for: .milliseconds(200))
            let extra = try RawClient(socket, receiveTimeout: 2)
            extra.send(Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let refused = try await offPool { extra.readAll().bytes.isEmpty }
            #expect(refused)
            _ = idle
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await LiveServer.with { live in
            let socket = live.socket
            let statuses = try await offPool {
                let client = try RawClient(socket)
                return try (0..<5).map { _ in
                    client.send(Array("GET /v1/explain HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                    guard let answer = client.readResponse() else { throw RawError("no answer") }
                    return answer.status
                }
            }
            #expect(statuses == [200, 200, 200, 200, 200])
        }
    }
}
