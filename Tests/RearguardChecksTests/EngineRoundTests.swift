import Foundation
import Testing
import TestSupport
@testable import RearguardChecks
import RearguardCore

@Suite(.serialized) struct EngineRoundTests {
    @Test func aRoundOf100ChecksWith50SilentTargetsFailsExactlyThoseWithTimeout() async throws {
        let dns = try await DNSMasqServer()
        let silent = SilentUDP()
        var specs: [CheckSpec] = []
        for i in 0..<25 {
            specs.append(CheckSpec(name: "dns-good-\(i)", target: .dns(dns.target("gw.agenttest.lan"))))
            specs.append(CheckSpec(name: "tcp-good-\(i)", target: .tcp(address: HostPort(host: "127.0.0.1", port: dns.port))))
            specs.append(CheckSpec(name: "dns-silent-\(i)", target: .dns(DNSTarget(
                server: HostPort(host: "127.0.0.1", port: silent.port), query: "gw.agenttest.lan"))))
            specs.append(CheckSpec(name: "ntp-silent-\(i)", target: .ntp(NTPTarget(server: HostPort(host: "127.0.0.1", port: silent.port)))))
        }
        let start = ContinuousClock.now
        let results = await CheckEngine(unitInspector: nil).runOnce(specs)
        let wall = start.duration(to: .now)
        #expect(results.map(\.name) == specs.map(\.name))
        let silentResults = results.filter { $0.name.contains("silent") }
        let good = results.filter { $0.name.contains("good") }
        #expect(silentResults.count == 50 && good.count == 50)
        #expect(silentResults.allSatisfy { $0.status == .fail && $0.message == "timeout" })
        #expect(good.allSatisfy { $0.status == .pass }, "\(good.filter { !$0.isPassing }.map(\.message))")
        // Concurrency, not speed: a serial round would take 100 s.
        #expect(wall < .seconds(10))
    }

    @Test func resultsCarryEveryField() async {
        let r = await CheckEngine(unitInspector: nil).run(CheckSpec(name: "t", target: .command(["/bin/true"]), required: false))
        #expect(r.name == "t" && r.kind == .command && !r.required && r.status == .pass && r.latencyMs > 0)
        #expect(abs(r.observedAt.timeIntervalSinceNow) < 5)
    }
}
