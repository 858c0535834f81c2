import Foundation
import Testing
import TestSupport
@testable import RearguardChecks
import RearguardCore

/// A chronyd serving NTP on a loopback port; `synchronised: false` leaves out `local stratum`, so it answers LI=3.
final class ChronyServer {
    let port: UInt16
    let server: ServerProcess

    init(synchronised: Bool) async throws {
        let chronyd = try requireTool("chronyd", package: "chrony")
        port = freePort()
        let dir = scratchDir("chrony")
        let conf = [
            "port \(port)", "bindaddress 127.0.0.1", "allow 127.0.0.1", "cmdport 0", "pidfile \(dir)/chronyd.pid",
            synchronised ? "local stratum 8" : "",
        ].joined(separator: "\n")
        try conf.write(toFile: dir + "/chrony.conf", atomically: true, encoding: .utf8)
        server = try ServerProcess([chronyd, "-d", "-x", "-u", "root", "-f", dir + "/chrony.conf"], log: dir + "/log")
        let target = NTPTarget(server: HostPort(host: "127.0.0.1", port: port))
        let answering = await waitUntil(5) {
            let o = await NTPCheck(target: target).probe(until: .now.advanced(by: .milliseconds(200)))
            return o.message != "connection refused" && o.message != "timeout"
        }
        if !answering { throw CommandFailed(description: "chronyd did not answer: \(server.output)") }
    }

    func target(maxStratum: Int = 15, maxOffset: Duration? = nil) -> NTPTarget {
        NTPTarget(server: HostPort(host: "127.0.0.1", port: port), maxStratum: maxStratum, maxOffset: maxOffset)
    }
}

@Suite(.serialized) struct NTPCheckTests {
    func probe(_ t: NTPTarget, timeout: Duration = .seconds(2)) async -> CheckResult {
        await CheckEngine(unitInspector: nil).run(CheckSpec(name: "ntp", target: .ntp(t), timeout: timeout))
    }

    @Test func passesOnASynchronisedChrony() async throws {
        let chrony = try await ChronyServer(synchronised: true)
        let r = await probe(chrony.target(maxOffset: .seconds(1)))
        #expect(r.status == .pass, "\(r.message)")
        #expect(r.message.hasPrefix("stratum 8, offset"))
    }

    @Test func failsWhenTheStratumIsAboveTheLimit() async throws {
        let chrony = try await ChronyServer(synchronised: true)
        let r = await probe(chrony.target(maxStratum: 5))
        #expect(r.status == .fail && r.message == "stratum 8 above max_stratum 5")
    }

    @Test func failsOnAnUnsynchronisedChronyWithLeapIndicator3() async throws {
        let chrony = try await ChronyServer(synchronised: false)
        let r = await probe(chrony.target())
        #expect(r.status == .fail)
        #expect(r.message.contains("unsynchronised") && r.message.contains("leap 3"), "\(r.message)")
    }

    @Test func aStoppedChronyFailsAtOnce() async throws {
        let chrony = try await ChronyServer(synchronised: true)
        chrony.server.stop()
        let r = await probe(chrony.target())
        #expect(r.status == .fail && r.message == "connection refused")
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let silent = SilentUDP()
        let r = await probe(NTPTarget(server: HostPort(host: "127.0.0.1", port: silent.port)), timeout: .milliseconds(300))
        #expect(r.status == .fail && r.message == "timeout")
    }
}
