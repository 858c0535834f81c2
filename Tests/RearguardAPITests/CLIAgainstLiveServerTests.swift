import APITestSupport
import Foundation
import RearguardAPI
import RearguardCore
import Testing
import TestSupport

/// The real `rearguard` binary against a live API server on a temporary socket (STYLE T6).
@Suite(.serialized) struct CLIAgainstLiveServerTests {
    @Test(arguments: [
        (Assessment.State.good, Int32(0), "GOOD: 42.20251110.3.0 known good since "),
        (.firstBoot, 3, "FIRST BOOT: 42.20251110.3.0"),
        (.probation, 3, "PROBATION: 42.20251110.3.0"),
        (.failing, 1, "FAILING: 42.20251110.3.0: dns-local failed 3/3 during probation"),
        (.rollingBack, 1, "ROLLING BACK from 42.20251110.3.0: dns-local failed 3/3 during probation"),
        (.rolledBack, 1, "ROLLED BACK from 42.20251124.3.0: dns-local failed 3/3 during probation"),
        (.quarantine, 1, "QUARANTINE: 42.20251124.3.0: dns-local failed 3/3 during probation"),
    ])
    func statusPrintsTheVerdictFirstAndExitsByState(state: Assessment.State, exit: Int32, verdict: String) async throws {
        try await LiveServer.with { live in
            if state != .good { await live.agent.set(state: state, reason: "dns-local failed 3/3 during probation") }
            let run = try await rearguard(["status", "--socket", live.socket])
            #expect(run.status == exit, "\(run.stdout)\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix(verdict) == true, "\(run.stdout)")
            for section in ["DEPLOYMENTS", "CHECKS", "LAST DECISION"] { #expect(lines.contains(section), "\(section)") }
            #expect(run.stdout.contains("dns-local"))
            let explain = try await rearguard(["explain", "--socket", live.socket])
            #expect(explain.status == exit && explain.stdout.hasPrefix(state.rawValue.uppercased() + ": next, "), "\(explain.stdout)")
        }
    }

    @Test func statusJSONIsTheAPIDocument() async throws {
        try await LiveServer.with { live in
            let cli = try await rearguard(["status", "--json", "--socket", live.socket])
            #expect(cli.status == 0, "\(cli.stderr)")
            let api = try await curl(live.socket, ["http://localhost/v1/status"])
            #expect(api.status == 200)
            #expect(NSDictionary(dictionary: try jsonObject(cli.stdout)) == NSDictionary(dictionary: try jsonObject(api.body)))
            let decoded = try RearguardJSON.decoder().decode(StatusDocument.self, from: Data(cli.stdout.utf8))
            #expect(decoded.schemaVersion == 1 && decoded.state == .good && decoded.checks.count == 3)
        }
    }

    @Test func historyAndRecheckAskTheAgent() async throws {
        try await LiveServer.with { live in
            let history = try await rearguard(["history", "--socket", live.socket])
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout.hasPrefix("BOOTS\n") && history.stdout.contains("\nDECISIONS\n"))
            #expect(history.stdout.contains("boot-marked-good"))
            let json = try await rearguard(["history", "--json", "--socket", live.socket])
            let document = try RearguardJSON.decoder().decode(HistoryDocument.self, from: Data(json.stdout.utf8))
            #expect(document.boots.count == 1 && document.decisions.first?.action == .bootMarkedGood)

            let roundsBefore = await live.agent.checkRounds
            #expect(roundsBefore == 0)
            let recheck = try await rearguard(["recheck", "--socket", live.socket])
            #expect(recheck.status == 0, "\(recheck.stderr)")
            #expect(recheck.stdout.hasPrefix("NAME") && recheck.stdout.contains("dns-local"), "\(recheck.stdout)")
            let recheckJSON = try await rearguard(["recheck", "--json", "--socket", live.socket])
            #expect(try RearguardJSON.decoder().decode(ChecksDocument.self, from: Data(recheckJSON.stdout.utf8)).checks.count == 3)
            let roundsAfter = await live.agent.checkRounds
            #expect(roundsAfter == 2)
        }
    }

    @Test func holdReleaseAndModeChangeWhatStatusShows() async throws {
        try await LiveServer.with(state: .quarantine) { live in
            let held = try await rearguard(["hold", "--socket", live.socket])
            #expect(held.status == 0 && held.stdout.hasPrefix("updates held"), "\(held.stdout)\(held.stderr)")
            let held2 = try await statusObject(live)["updates_held"] as? Bool
            #expect(held2 == true)

            let observe = try await rearguard(["mode", "observe", "--socket", live.socket])
            #expect(observe.status == 0 && observe.stdout.hasPrefix("mode observe"), "\(observe.stdout)\(observe.stderr)")
            let observed = try await statusObject(live)["mode"] as? String
            #expect(observed == "observe")
            let status = try await rearguard(["status", "--socket", live.socket])
            #expect(status.stdout.split(separator: "\n").first?.hasSuffix("[observe mode: nothing is acted on]") == true)

            // Release lifts the hold and ends the quarantine.
            let released = try await rearguard(["release", "--json", "--socket", live.socket])
            #expect(released.status == 0, "\(released.stderr)")
            let after = try jsonObject(released.stdout)
            #expect(after["updates_held"] as? Bool == false && after["state"] as? String == "good")
            let good = try await rearguard(["status", "--socket", live.socket])
            #expect(good.status == 0)

            let enforce = try await rearguard(["mode", "enforce", "--socket", live.socket])
            let mode = try await statusObject(live)["mode"] as? String
            #expect(enforce.status == 0 && mode == "enforce")
        }
    }

    @Test func unreachableExits69WithAHintAndUsageExits64() async throws {
        let missing = scratchDir("api-missing") + "/rearguard.sock"
        for command in [["status"], ["history"], ["explain"], ["recheck"], ["hold"], ["release"], ["mode", "observe"]] {
            let run = try await rearguard(command + ["--socket", missing])
            #expect(run.status == 69, "\(command): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains("cannot connect to \(missing)") && run.stderr.contains("systemctl start rearguard"), "\(run.stderr)")
        }
        #expect(try await rearguard(["mode", "sometimes", "--socket", missing]).status == 64)
        #expect(try await rearguard(["mode", "--socket", missing]).status == 64)
        #expect(try await rearguard(["status", "--bogus"]).status == 64)
    }

    @Test func aNonRootCallerReadsButIsRefusedChanges() async throws {
        try await LiveServer.with(group: "nogroup") { live in
            let read = try await curl(live.socket, ["http://localhost/v1/status"], asNobody: true)
            #expect(read.status == 200)
            for (path, body) in [("/v1/hold", ""), ("/v1/release", ""), ("/v1/checks/run", ""), ("/v1/mode", #"{"mode":"observe"}"#)] {
                let refused = try await curl(live.socket, ["-X", "POST", "--data", body, "http://localhost" + path], asNobody: true)
                #expect(refused.status == 403, "\(path): \(refused)")
                let error = try jsonObject(refused.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "forbidden", "\(refused.body)")
            }
            let cli = try await rearguard(["hold", "--socket", live.socket], asNobody: true)
            #expect(cli.status == 1 && cli.stderr.contains("needs root"), "\(cli.status) \(cli.stderr)")
            let cliStatus = try await rearguard(["status", "--socket", live.socket], asNobody: true)
            #expect(cliStatus.status == 0, "\(cliStatus.stderr)")
            let status = await live.agent.status()
            let rounds = await live.agent.checkRounds
            #expect(!status.updatesHeld && status.mode == "enforce" && rounds == 0)
        }
    }

    @Test func withoutAGroupOnlyRootReachesTheSocket() async throws {
        try await LiveServer.with { live in
            let run = try await rearguard(["status", "--socket", live.socket], asNobody: true)
            #expect(run.status == 69 && run.stderr.contains("Permission denied") && run.stderr.contains("[api] group"), "\(run.stderr)")
        }
    }

    private func statusObject(_ live: LiveServer) async throws -> [String: Any] {
        let answer = try await curl(live.socket, ["http://localhost/v1/status"])
        return try jsonObject(answer.body)
    }
}
