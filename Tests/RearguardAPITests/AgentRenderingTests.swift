import APITestSupport
import ArgumentParser
import Foundation
@testable import RearguardCLI
import RearguardAPI
import RearguardCore
import Testing

/// The agent commands' parsing and rendering, in process with no I/O (STYLE T6).
struct AgentRenderingTests {
    @Test func theVerdictLineNamesTheStateTheReleaseAndWhy() async {
        let agent = FixtureAgent()
        let good = AgentRenderer.verdict(await agent.status())
        #expect(good.hasPrefix("GOOD: 42.20251110.3.0 known good since ") && good.hasSuffix(" UTC"), "\(good)")
        await agent.set(state: .rolledBack, reason: "dns-local failed 3/3 during probation")
        #expect(AgentRenderer.verdict(await agent.status()) == "ROLLED BACK from 42.20251124.3.0: dns-local failed 3/3 during probation")
        _ = await agent.setMode(.observe)
        await agent.set(state: .probation)
        #expect(AgentRenderer.verdict(await agent.status()).hasSuffix("[observe mode: nothing is acted on]"))
    }

    @Test func exitCodesFollowTheState() {
        let expected: [Assessment.State: Int32] = [
            .good: 0, .firstBoot: 3, .probation: 3, .failing: 1, .rollingBack: 1, .rolledBack: 1, .quarantine: 1,
        ]
        for state in Assessment.State.allCases { #expect(AgentExit.code(for: state) == expected[state], "\(state)") }
    }

    @Test func statusShowsEverySectionAndAnUnknownCheck() async {
        let text = AgentRenderer.status(await FixtureAgent(state: .firstBoot, checks: 2, historyLength: 0, decided: false).status())
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "FIRST BOOT: 42.20251110.3.0 not assessed yet")
        #expect(lines.contains("DEPLOYMENTS") && lines.contains("CHECKS") && lines.contains("LAST DECISION") && lines.contains("none yet"))
        #expect(lines.contains { $0.hasPrefix("dns-local") && $0.contains("unknown") })
    }

    @Test func modeTakesOnlyEnforceOrObserveAndEveryCommandTakesSocket() throws {
        #expect(throws: (any Error).self) { try Rearguard.parseAsRoot(["mode", "sometimes"]) }
        for command in [["status"], ["history"], ["explain"], ["recheck"], ["hold"], ["release"], ["mode", "observe"]] {
            let parsed = try Rearguard.parseAsRoot(command + ["--socket", "/tmp/x.sock", "--json"])
            #expect(parsed is any AsyncParsableCommand, "\(command)")
        }
    }
}
