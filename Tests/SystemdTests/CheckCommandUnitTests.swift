import Foundation
import RearguardDaemon
import Systemd
import Testing
import TestSupport

/// `rearguard check` with unit checks, answered by the guest's real systemd over sd-bus.
extension GuestSystemdTests {
    @Test func checkCommandJudgesUnitsOfTheRealSystemd() async throws {
        let bus = try await TestGuest.bus()
        // A unit that has just failed (Result exit-code), one that is running, one that does not exist.
        _ = try? await bus.startUnit("agent-fail@checkcli.service")
        let inspector = SystemdUnitInspector(bus: bus, logger: TestGuest.logger)
        let until = ContinuousClock.now + .seconds(10)
        while try await inspector.unitState("agent-fail@checkcli.service").activeState != "failed", ContinuousClock.now < until {
            try await Task.sleep(for: .milliseconds(20))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rearguard-unitcheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = """
            [[check]]
            name = "ok"
            kind = "unit"
            unit = "agent-ok.service"
            [[check]]
            name = "failed"
            kind = "unit"
            unit = "agent-fail@checkcli.service"
            [[check]]
            name = "missing"
            kind = "unit"
            unit = "no-such-unit-rearguard.service"
            required = false
            """
        try config.write(to: dir.appendingPathComponent("10-units.toml"), atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: Self.rearguard) else {
            throw TestGuest.Missing(description: "no \(Self.rearguard): run swift build")
        }
        let r = try await TestGuest.run([Self.rearguard, "check", "--config-dir", dir.path, "--json"],
                                  environment: ["DBUS_SYSTEM_BUS_ADDRESS": TestGuest.address])
        #expect(r.status == 1, "a failed required unit makes the round fail: \(r.error)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        let results = try #require(doc["results"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: results.compactMap { r in (r["name"] as? String).map { ($0, r) } })
        #expect(byName["ok"]?["status"] as? String == "pass", "\(byName["ok"] ?? [:])")
        #expect(byName["failed"]?["status"] as? String == "fail")
        #expect((byName["failed"]?["message"] as? String)?.contains("failed") == true, "\(byName["failed"] ?? [:])")
        #expect(byName["missing"]?["status"] as? String == "fail")
        #expect((byName["missing"]?["message"] as? String)?.contains("not found") == true, "\(byName["missing"] ?? [:])")
        // Leave the guest as found: a failed unit would make SystemState "degraded" for the tests after this one.
        try await bus.resetFailedUnit("agent-fail@checkcli.service")
    }
}
