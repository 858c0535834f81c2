import APITestSupport
import Foundation
import RearguardAPI
import RearguardCore
import Testing
import TestSupport

/// Every endpoint through real curl on the socket.
@Suite(.serialized) struct EndpointTests {
    @Test func everyReadEndpointAnswersAVersionedDocument() async throws {
        try await LiveServer.with { live in
            for (path, key) in [("/v1/status", "checks"), ("/v1/checks", "checks"), ("/v1/history", "decisions"),
                                ("/v1/deployments", "deployments"), ("/v1/explain", "because")] {
                let answer = try await curl(live.socket, ["http://localhost" + path])
                #expect(answer.status == 200, "\(path)")
                let object = try jsonObject(answer.body)
                #expect(object["schema_version"] as? Int == 1 && object[key] != nil, "\(path): \(answer.body.prefix(200))")
            }
            let deployments = try await curl(live.socket, ["http://localhost/v1/deployments"])
            let document = try RearguardJSON.decoder().decode(DeploymentsDocument.self, from: Data(deployments.body.utf8))
            #expect(document.deployments.map(\.role) == [.booted, .rollback])
        }
    }

    @Test func metricsAreDerivedFromTheStatus() async throws {
        try await LiveServer.with(state: .rolledBack) { live in
            await live.agent.set(state: .rolledBack, reason: "dns-local failed 3/3 during probation")
            _ = await live.agent.hold()
            let answer = try await curl(live.socket, ["http://localhost/metrics"])
            #expect(answer.status == 200)
            let lines = Set(answer.body.split(separator: "\n").map(String.init))
            for expected in [
                #"rearguard_check_up{check="dns-local"} 1.0"#, #"rearguard_check_latency_seconds{check="dns-local"} 0.00125"#,
                #"rearguard_assessment_state{state="rolled-back"} 1.0"#, #"rearguard_assessment_state{state="good"} 0.0"#,
                "rearguard_rollbacks_total 1", "rearguard_reboots_total 1", "rearguard_updates_held 1.0",
                "# TYPE rearguard_rollbacks_total counter", "rearguard_updates_inhibited 0.0",
                "rearguard_finalization_failures_total 0",
            ] {
                #expect(lines.contains(expected), "\(expected) in\n\(answer.body)")
            }
            #expect(!answer.body.contains("schema_version"))
        }
    }

    @Test func refusalsAreJSONErrorsWithStableCodes() async throws {
        try await LiveServer.with { live in
            let cases: [(args: [String], status: Int, code: String)] = [
                (["http://localhost/v1/nothing"], 404, "not_found"),
                (["http://localhost/"], 404, "not_found"),
                (["-X", "POST", "http://localhost/v1/status"], 405, "bad_request"),
                (["-X", "DELETE", "http://localhost/v1/hold"], 405, "bad_request"),
                (["http://localhost/v1/hold"], 405, "bad_request"),
                (["-X", "POST", "--data", "{", "http://localhost/v1/mode"], 400, "bad_request"),
                (["-X", "POST", "--data", #"{"mode": "sometimes"}"#, "http://localhost/v1/mode"], 400, "bad_request"),
                (["-X", "POST", "--data", #"{"mode": 1}"#, "http://localhost/v1/mode"], 400, "bad_request"),
                (["-X", "POST", "--data", "", "http://localhost/v1/mode"], 400, "bad_request"),
                (["-X", "POST", "--data", "x", "http://localhost/v1/hold"], 400, "bad_request"),
                (["-X", "POST", "--data", "{}", "http://localhost/v1/checks/run"], 400, "bad_request"),
                (["-X", "POST", "--data", String(repeating: "x", count: 5000), "http://localhost/v1/mode"], 400, "bad_request"),
                (["-H", "X-Big: " + String(repeating: "y", count: 20_000), "http://localhost/v1/status"], 400, "bad_request"),
            ]
            for c in cases {
                let answer = try await curl(live.socket, c.args)
                #expect(answer.status == c.status, "\(c.args.prefix(4)): \(answer)")
                let error = try jsonObject(answer.body)
                #expect(error["schema_version"] as? Int == 1, "\(answer.body)")
                #expect((error["error"] as? [String: Any])?["code"] as? String == c.code, "\(answer.body)")
            }
            // The mode stayed, and a valid request still works after all of that.
            let ok = try await curl(live.socket, ["-X", "POST", "--data", #"{"mode": "observe"}"#, "http://localhost/v1/mode"])
            let mode = try jsonObject(ok.body)["mode"] as? String
            #expect(ok.status == 200 && mode == "observe")
        }
    }

    @Test func agentRefusalsKeepTheirCode() async throws {
        try await LiveServer.with { live in
            await live.agent.failDeployments(with: AgentRequestError(.unavailable, "the sysroot is not readable"))
            let answer = try await curl(live.socket, ["http://localhost/v1/deployments"])
            #expect(answer.status == 503)
            let error = try jsonObject(answer.body)["error"] as? [String: Any]
            #expect(error?["code"] as? String == "unavailable" && error?["message"] as? String == "the sysroot is not readable")
        }
    }

    @Test func theStatusDocumentHasTheSchemaTheIssueNames() async throws {
        // Once with results and a decision, once before any (null last and last_decision).
        for agent in [FixtureAgent(state: .probation), FixtureAgent(state: .firstBoot, checks: 2, historyLength: 0, decided: false)] {
            try await LiveServer.with(agent: agent) { live in
                let answer = try await curl(live.socket, ["http://localhost/v1/status"])
                try StatusSchema.validate(try jsonObject(answer.body))
            }
        }
    }
}

/// The status document's schema as the issue states it: every key named, with its JSON type.
enum StatusSchema {
    static let states: Set<String> = ["first-boot", "probation", "good", "failing", "rolling-back", "rolled-back", "quarantine"]

    static func validate(_ object: [String: Any]) throws {
        func require(_ ok: Bool, _ what: String) throws { if !ok { throw RawError("status schema: \(what)") } }
        func isNull(_ value: Any?) -> Bool { value is NSNull }
        // JSONSerialization gives booleans their own NSNumber subclass, which tells them from 0 and 1.
        func isBool(_ value: Any?) -> Bool { value.map { type(of: $0) == type(of: NSNumber(value: true) as Any) } ?? false }
        func isInt(_ value: Any?) -> Bool { value is Int && !isBool(value) }
        func isDate(_ value: Any?) -> Bool { (value as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil }

        try require(isInt(object["schema_version"]) && object["schema_version"] as? Int == 1, "schema_version 1")
        try require((object["state"] as? String).map(states.contains) == true, "state in the enum: \(object["state"] ?? "-")")
        try require(["enforce", "observe"].contains(object["mode"] as? String ?? ""), "mode")
        try require(object.keys.contains("reason") && (object["reason"] is String || isNull(object["reason"])), "reason")
        try require(object["version"] is String, "version")
        try require(isDate(object["started_at"]), "started_at ISO-8601")
        try require(isBool(object["updates_held"]), "updates_held bool")
        try require(isInt(object["rollbacks_total"]) && isInt(object["reboots_total"]), "totals")
        try require(object["bad_releases"] is [Any], "bad_releases array")
        try require(object.keys.contains("last_decision"), "last_decision present")
        if let decision = object["last_decision"] as? [String: Any] {
            try require(decision["action"] is String && decision["reason"] is String && isDate(decision["at"]), "last_decision")
        } else {
            try require(isNull(object["last_decision"]), "last_decision object or null")
        }
        guard let deployments = object["deployments"] as? [[String: Any]] else { throw RawError("deployments array") }
        for d in deployments {
            try require(d["checksum"] is String && d["osname"] is String && d["role"] is String && isBool(d["booted"]), "deployment")
        }
        guard let checks = object["checks"] as? [[String: Any]], !checks.isEmpty else { throw RawError("checks array") }
        for check in checks {
            try require(check["name"] is String && check["kind"] is String && isBool(check["required"]), "check name/kind/required")
            try require(["passing", "failing", "unknown"].contains(check["state"] as? String ?? ""), "check state")
            try require(check.keys.contains("last") && (check["last"] is [String: Any] || isNull(check["last"])), "check last")
            try require(check["history"] is [Any], "check history")
            for result in [check["last"]].compactMap({ $0 as? [String: Any] }) + (check["history"] as? [[String: Any]] ?? []) {
                try require(["pass", "fail"].contains(result["status"] as? String ?? "") && result["latency_ms"] is Double
                            && isDate(result["observed_at"]) && result["message"] is String, "check result")
            }
        }
    }
}
