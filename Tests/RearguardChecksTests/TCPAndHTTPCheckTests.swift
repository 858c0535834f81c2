import Foundation
import Testing
import TestSupport
@testable import RearguardChecks
import RearguardCore

/// A small Python HTTP server on loopback: /ok 200 "healthy", /missing 404, /slow answers after 5 s.
final class HTTPServer {
    let port: UInt16
    let server: ServerProcess
    static let script = """
        import sys, time
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/slow":
                    time.sleep(5)
                code, body = (200, b"healthy") if self.path in ("/ok", "/slow") else (404, b"no")
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
        if len(sys.argv) > 2:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """

    /// With `tls`, the server speaks HTTPS with a fresh self-signed certificate for 127.0.0.1 (trusted by nobody).
    init(tls: Bool = false) async throws {
        let python = try requireTool("python3", package: "python3")
        port = freePort()
        let dir = scratchDir("http")
        try Self.script.write(toFile: dir + "/server.py", atomically: true, encoding: .utf8)
        var arguments = [python, dir + "/server.py", "\(port)"]
        if tls {
            let openssl = try requireTool("openssl", package: "openssl")
            _ = try await Shell.check([
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
            ])
            arguments += [dir + "/cert.pem", dir + "/key.pem"]
        }
        server = try ServerProcess(arguments, log: dir + "/log")
        let address = HostPort(host: "127.0.0.1", port: port)
        let up = await waitUntil(10) { await TCPCheck(address: address).probe(until: .now.advanced(by: .milliseconds(200))).status == .pass }
        // Still running: a server that lost its port to another test's (freePort is a guess) exits at once, and
        // the port that answered is not ours.
        if !up || !server.isRunning { throw CommandFailed(description: "http server did not start: \(server.output)") }
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
}

@Suite(.serialized) struct TCPAndHTTPCheckTests {
    let engine = CheckEngine(unitInspector: nil)

    @Test func tcpPassesOnAnOpenPortAndFailsAtOnceOnAClosedOne() async throws {
        let http = try await HTTPServer()
        let open = await engine.run(CheckSpec(name: "open", target: .tcp(address: HostPort(host: "127.0.0.1", port: http.port))))
        #expect(open.status == .pass, "\(open.message)")
        http.server.stop()
        let closed = await engine.run(CheckSpec(name: "closed", target: .tcp(address: HostPort(host: "127.0.0.1", port: http.port))))
        #expect(closed.status == .fail && closed.message == "connection refused")
        #expect(closed.latencyMs < 1000, "refused well before the 2 s timeout")
    }

    @Test func tcpResolvesLocalhost() async throws {
        let http = try await HTTPServer()
        let r = await engine.run(CheckSpec(name: "name", target: .tcp(address: HostPort(host: "localhost", port: http.port))))
        #expect(r.status == .pass, "\(r.message)")
    }

    @Test func httpPassesOn200WithTheExpectedBody() async throws {
        let http = try await HTTPServer()
        let r = await engine.run(CheckSpec(name: "ok", target: .http(HTTPTarget(url: http.url("/ok"), expectBody: "healthy"))))
        #expect(r.status == .pass && r.message == "status 200", "\(r.message)")
    }

    @Test func httpFailsOnAMissingBodySubstring() async throws {
        let http = try await HTTPServer()
        let r = await engine.run(CheckSpec(name: "body", target: .http(HTTPTarget(url: http.url("/ok"), expectBody: "sick"))))
        #expect(r.status == .fail && r.message.contains("body lacks"), "\(r.message)")
    }

    @Test func httpFailsOn404UnlessItIsTheExpectedStatus() async throws {
        let http = try await HTTPServer()
        let r = await engine.run(CheckSpec(name: "404", target: .http(HTTPTarget(url: http.url("/missing")))))
        #expect(r.status == .fail && r.message == "status 404", "\(r.message)")
        let expected = await engine.run(CheckSpec(name: "404", target: .http(HTTPTarget(url: http.url("/missing"), expectStatus: 404))))
        #expect(expected.status == .pass, "\(expected.message)")
    }

    @Test func httpTimesOutOnASlowServerAtTheDeadline() async throws {
        let http = try await HTTPServer()
        let r = await engine.run(CheckSpec(name: "slow", target: .http(HTTPTarget(url: http.url("/slow"))), timeout: .milliseconds(500)))
        #expect(r.status == .fail && r.message == "timeout", "\(r.message)")
        #expect(r.latencyMs < 1000)
    }

    @Test func httpsSpeaksTLSAndRefusesACertificateNobodyTrusts() async throws {
        let https = try await HTTPServer(tls: true)
        let url = "https://127.0.0.1:\(https.port)/ok"
        let r = await engine.run(CheckSpec(name: "tls", target: .http(HTTPTarget(url: url))))
        #expect(r.status == .fail && r.message.contains("certificate"),
            "\(r.message) (server running: \(https.server.isRunning), \(String(describing: https.server.exitStatus)); log: \(https.server.output))")
        // Plain HTTP to the TLS port is no answer either.
        let plain = await engine.run(CheckSpec(name: "plain", target: .http(HTTPTarget(url: "http://127.0.0.1:\(https.port)/ok")), timeout: .seconds(2)))
        #expect(plain.status == .fail, "\(plain.message)")
    }

    /// The check's task may resume after connecting only once the TLS handshake has already failed (a busy pool):
    /// the answer is still the certificate's refusal, not the request's write to a channel that closed meanwhile.
    @Test func aHandshakeThatFailsBeforeTheRequestIsWrittenIsStillACertificateError() async throws {
        let https = try await HTTPServer(tls: true)
        let spec = CheckSpec(name: "tls", target: .http(HTTPTarget(url: "https://127.0.0.1:\(https.port)/ok")), timeout: .seconds(15))
        let pool = ShuffledExecutor()
        var messages: [String] = []
        for i in 0..<10 {
            let message = await withTaskExecutorPreference(pool) {
                async let result = engine.run(spec)
                // A moment for the connect to start, then the check's thread is busy while the handshake fails.
                try? await Task.sleep(for: .milliseconds(i % 5 * 2))
                pool.block(for: .milliseconds(300))
                return await result.message
            }
            messages.append(message)
        }
        #expect(messages.allSatisfy { $0.contains("certificate") }, "\(messages)")
    }

    @Test func urlsMapToHostPortTLSAndRequestTarget() {
        func parts(_ url: String) -> String? {
            guard let e = HTTPTarget(url: url).endpoint else { return nil }
            return "\(e.host) \(e.port) \(e.tls) \(e.path)" + (e.credentials.map { " " + $0 } ?? "")
        }
        #expect(parts("http://127.0.0.1:8080/health?full=1") == "127.0.0.1 8080 false /health?full=1")
        #expect(parts("https://printer.lan") == "printer.lan 443 true /")
        #expect(parts("http://[::1]:9090/metrics") == "::1 9090 false /metrics")
        #expect(parts("https://monitor:s3cret@127.0.0.1/status") == "127.0.0.1 443 true /status monitor:s3cret")
        #expect(parts("ftp://127.0.0.1/") == nil)
        #expect(parts("http:///nohost") == nil)
        // getaddrinfo would wrap 99999 to 34463: another service's port.
        #expect(parts("http://127.0.0.1:99999/") == nil)
        #expect(parts("http://127.0.0.1:0/") == nil)
    }

    @Test func httpFailsAtOnceOnAClosedPort() async throws {
        let http = try await HTTPServer()
        http.server.stop()
        let r = await engine.run(CheckSpec(name: "closed", target: .http(HTTPTarget(url: http.url("/ok")))))
        #expect(r.status == .fail && r.message == "connection refused", "\(r.message)")
    }
}

@Suite struct ExecCheckTests {
    let engine = CheckEngine(unitInspector: nil)

    @Test func exitZeroPassesAndOutputIsCaptured() async {
        let r = await engine.run(CheckSpec(name: "ok", target: .command(["/bin/sh", "-c", "echo fine; echo also >&2"])))
        #expect(r.status == .pass && r.message == "exit 0: fine\nalso", "\(r.message)")
    }

    @Test func nonZeroExitFails() async {
        let r = await engine.run(CheckSpec(name: "bad", target: .command(["/bin/sh", "-c", "echo broken; exit 3"])))
        #expect(r.status == .fail && r.message == "exit 3: broken")
    }

    @Test func noShellIsInvolved() async {
        let r = await engine.run(CheckSpec(name: "echo", target: .command(["echo", "$HOME", ";", "false"])))
        #expect(r.status == .pass && r.message == "exit 0: $HOME ; false")
    }

    @Test func aProgramPastItsDeadlineIsKilledWithItsChildren() async throws {
        let dir = scratchDir("exec")
        let marker = dir + "/child-survived"
        let r = await engine.run(CheckSpec(
            name: "slow", target: .command(["/bin/sh", "-c", "(sleep 1; touch \(marker)) & echo started; sleep 30"]),
            timeout: .milliseconds(300)))
        // "timeout, killed: started" from the probe, or plain "timeout" when the engine's own deadline
        // (20 ms later) wins on a loaded machine; the kill happens either way.
        #expect(r.status == .fail && r.message.hasPrefix("timeout"), "\(r.message)")
        #expect(r.latencyMs < 1000)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aMissingProgramFails() async {
        let r = await engine.run(CheckSpec(name: "missing", target: .command(["/nonexistent/rearguard-probe"])))
        #expect(r.status == .fail && r.message == "program not found: /nonexistent/rearguard-probe")
    }

    @Test func outputIsCappedAt4KiB() async {
        let r = await engine.run(CheckSpec(name: "chatty", target: .command(["/bin/sh", "-c", "yes | head -c 100000; exit 0"])))
        #expect(r.status == .pass)
        #expect(r.message.utf8.count <= ExecCheck.outputLimit + "exit 0: ".count)
    }
}
