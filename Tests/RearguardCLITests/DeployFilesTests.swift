import Foundation
import RearguardCore
import Testing
import TestSupport

/// The shipped unit files keep the boot gate's rules (FIELD-NOTES "Boot gating").
@Suite struct DeployFilesTests {
    static func lines(_ name: String) throws -> [String] {
        // A line ending in a backslash goes on in the next one, as systemd reads it.
        try String(contentsOfFile: packageRoot + "/quadlet/" + name, encoding: .utf8)
            .replacingOccurrences(of: "\\\n", with: " ")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
    }

    @Test func theVerdictUnitOutlastsTheSoakAndGatesBootComplete() throws {
        let unit = try Self.lines("rearguard-verdict.service")
        let timeout = try #require(unit.first { $0.hasPrefix("TimeoutStartSec=") }?.dropFirst("TimeoutStartSec=".count))
        let limit = try #require(ConfigDuration.parse(String(timeout)))
        // The default soak (10m) plus start periods must fit; systemd's default 90 s would not.
        #expect(limit > Settings().assessment.soak * 2, "TimeoutStartSec=\(timeout)")
        #expect(unit.contains("Before=boot-complete.target"))
        #expect(unit.contains("RequiredBy=boot-complete.target"))
        #expect(unit.contains("Type=oneshot") && unit.contains("RemainAfterExit=yes"))
        #expect(unit.contains { $0.hasPrefix("ExecStart=") && $0.hasSuffix("wait-verdict") })
    }

    @Test func theAgentIsNeverOrderedAfterBootComplete() throws {
        let container = try Self.lines("rearguard.container")
        // boot-complete.target requires the verdict unit, which runs after the agent: After= here would be a cycle.
        #expect(!container.contains { $0.hasPrefix("After=") && $0.contains("boot-complete.target") })
        #expect(container.contains("Notify=true"))
        #expect(container.contains("PodmanArgs=--pid=host"))
        #expect(container.contains("SecurityLabelDisable=true"))
        #expect(container.contains { $0.hasPrefix("Volume=/var/lib/rearguard:") })
    }
}

/// examples/prometheus: the scrape config and the alert rules a site copies, checked by Prometheus' own tool.
@Suite struct PrometheusExampleTests {
    static let folder = packageRoot + "/examples/prometheus"

    static func promtool(_ arguments: [String]) async throws -> ProcessOutput {
        try await Shell.require("promtool", package: "prometheus")
        return try await Shell.run(["sh", "-c", "cd \"$0\" && exec promtool \"$@\"", folder] + arguments)
    }

    @Test func theRulesAndTheScrapeConfigAreValid() async throws {
        let rules = try await Self.promtool(["check", "rules", "rearguard.rules.yml"])
        #expect(rules.status == 0 && rules.stdout.contains("SUCCESS: 5 rules found"), "\(rules.stdout)\(rules.stderr)")
        let config = try await Self.promtool(["check", "config", "prometheus.yml"])
        #expect(config.status == 0, "\(config.stdout)\(config.stderr)")
    }

    @Test func theAlertsFireWhenAndOnlyWhenTheyShould() async throws {
        let run = try await Self.promtool(["test", "rules", "rearguard.rules.test.yml"])
        #expect(run.status == 0 && run.stdout.contains("SUCCESS"), "\(run.stdout)\(run.stderr)")
    }
}
