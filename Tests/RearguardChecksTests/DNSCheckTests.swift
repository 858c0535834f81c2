import Foundation
import Testing
import TestSupport
@testable import RearguardChecks
import RearguardCore

/// A dnsmasq on a loopback port, authoritative for agenttest.lan with no upstream.
final class DNSMasqServer {
    let port: UInt16
    let server: ServerProcess
    static let bigTXT = (0..<4).map { _ in String(repeating: "x", count: 200) }.joined(separator: ",")

    init() async throws {
        let dnsmasq = try requireTool("dnsmasq", package: "dnsmasq")
        port = freePort()
        let dir = scratchDir("dnsmasq")
        server = try ServerProcess([
            dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--listen-address=127.0.0.1,::1", "--bind-interfaces", "--port=\(port)", "--pid-file=", "--user=root",
            "--local=/agenttest.lan/", "--host-record=gw.agenttest.lan,10.213.0.1,fd00::1",
            "--cname=www.agenttest.lan,gw.agenttest.lan", "--mx-host=agenttest.lan,mail.agenttest.lan,10",
            "--txt-record=txt.agenttest.lan,hello world", "--srv-host=_ntp._udp.agenttest.lan,gw.agenttest.lan,123,1,5",
            "--txt-record=big.agenttest.lan,\(Self.bigTXT)",
        ], log: dir + "/log")
        var last = ProbeOutcome.fail("not probed")
        let ready = await waitUntil(10) { [port] in
            last = await DNSCheck(target: DNSTarget(
                server: HostPort(host: "127.0.0.1", port: port), query: "gw.agenttest.lan", type: "A", expectRcode: "NOERROR",
                expectAnswers: nil)).probe(until: .now.advanced(by: .milliseconds(500)))
            return last.status == .pass
        }
        if !ready { throw CommandFailed(description: "dnsmasq on port \(port) did not answer (\(last.message)): \(server.output)") }
    }

    func target(_ query: String, type: String = "A", rcode: String = "NOERROR", answers: [String]? = nil) -> DNSTarget {
        DNSTarget(server: HostPort(host: "127.0.0.1", port: port), query: query, type: type, expectRcode: rcode, expectAnswers: answers)
    }
}

@Suite(.serialized) struct DNSCheckTests {
    func probe(_ t: DNSTarget, timeout: Duration = .seconds(2)) async -> CheckResult {
        await CheckEngine(unitInspector: nil).run(CheckSpec(name: "dns", target: .dns(t), timeout: timeout))
    }

    @Test func passesOnTheExpectedAnswerFromDnsmasq() async throws {
        let dns = try await DNSMasqServer()
        let r = await probe(dns.target("gw.agenttest.lan", answers: ["10.213.0.1"]))
        #expect(r.status == .pass, "\(r.message)")
        #expect(r.message == "NOERROR 10.213.0.1")
    }

    @Test func parsesEveryRecordTypeWithLibresolv() async throws {
        let dns = try await DNSMasqServer()
        let cases: [(String, String, String)] = [
            ("gw.agenttest.lan", "AAAA", "fd00::1"),
            ("www.agenttest.lan", "CNAME", "gw.agenttest.lan"),
            ("agenttest.lan", "MX", "10 mail.agenttest.lan"),
            ("txt.agenttest.lan", "TXT", "hello world"),
            ("_ntp._udp.agenttest.lan", "SRV", "1 5 123 gw.agenttest.lan"),
        ]
        for (name, type, answer) in cases {
            let r = await probe(dns.target(name, type: type, answers: [answer]))
            #expect(r.status == .pass, "\(type): \(r.message)")
        }
    }

    @Test func asksOverIPv6Loopback() async throws {
        let dns = try await DNSMasqServer()
        var t = dns.target("gw.agenttest.lan", answers: ["10.213.0.1"])
        t.server = HostPort(host: "::1", port: dns.port)
        let r = await probe(t)
        #expect(r.status == .pass, "\(r.message)")
    }

    @Test func failsOnAWrongAnswer() async throws {
        let dns = try await DNSMasqServer()
        let r = await probe(dns.target("gw.agenttest.lan", answers: ["10.9.9.9"]))
        #expect(r.status == .fail)
        #expect(r.message == "expected 10.9.9.9, got NOERROR 10.213.0.1")
    }

    @Test func failsOnNXDOMAINUnlessItIsExpected() async throws {
        let dns = try await DNSMasqServer()
        let r = await probe(dns.target("nope.agenttest.lan"))
        #expect(r.status == .fail && r.message.contains("NXDOMAIN"), "\(r.message)")
        let expected = await probe(dns.target("nope.agenttest.lan", rcode: "NXDOMAIN"))
        #expect(expected.status == .pass, "\(expected.message)")
    }

    @Test func fallsBackToTCPWhenTheAnswerIsTruncated() async throws {
        let dns = try await DNSMasqServer()
        let r = await probe(dns.target("big.agenttest.lan", type: "TXT"))
        #expect(r.status == .pass, "\(r.message)")
        #expect(r.message.hasSuffix("(tcp)"))
        #expect(r.message.contains(String(repeating: "x", count: 800)))
    }

    @Test func aStoppedServerFailsAtOnceWithConnectionRefused() async throws {
        let dns = try await DNSMasqServer()
        dns.server.stop()
        let r = await probe(dns.target("gw.agenttest.lan"))
        #expect(r.status == .fail && r.message == "connection refused")
        #expect(r.latencyMs < 1000, "refused well before the 2 s timeout")
    }

    @Test func aServerThatNeverAnswersTimesOutOnTime() async throws {
        let silent = SilentUDP()
        let t = DNSTarget(server: HostPort(host: "127.0.0.1", port: silent.port), query: "gw.agenttest.lan", type: "A",
                          expectRcode: "NOERROR", expectAnswers: nil)
        let r = await probe(t, timeout: .milliseconds(300))
        #expect(r.status == .fail && r.message == "timeout")
        #expect(r.latencyMs >= 290 && r.latencyMs < 1000)
    }

    @Test func unboundAnswersToo() async throws {
        let unbound = try requireTool("unbound", package: "unbound")
        let port = freePort()
        let dir = scratchDir("unbound")
        let conf = """
            server:
              interface: 127.0.0.1
              port: \(port)
              access-control: 127.0.0.0/8 allow
              do-daemonize: no
              username: ""
              chroot: ""
              directory: "\(dir)"
              pidfile: ""
              use-syslog: no
              logfile: ""
              module-config: "iterator"
              local-zone: "agenttest.lan." static
              local-data: "gw.agenttest.lan. IN A 10.213.1.1"
            remote-control:
              control-enable: no
            """
        try conf.write(toFile: dir + "/unbound.conf", atomically: true, encoding: .utf8)
        let server = try ServerProcess([unbound, "-c", dir + "/unbound.conf"], log: dir + "/log")
        defer { server.stop() }
        let t = DNSTarget(server: HostPort(host: "127.0.0.1", port: port), query: "gw.agenttest.lan", type: "A",
                          expectRcode: "NOERROR", expectAnswers: ["10.213.1.1"])
        let ok = await waitUntil(5) { await probe(t, timeout: .milliseconds(300)).status == .pass }
        #expect(ok, "\(server.output)")
        var nx = t
        nx.query = "nope.agenttest.lan"
        nx.expectRcode = "NXDOMAIN"
        nx.expectAnswers = nil
        let nxResult = await probe(nx)
        #expect(nxResult.status == .pass, "\(nxResult.message)")
    }
}
