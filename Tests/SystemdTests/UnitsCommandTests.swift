import Foundation
import Posix
import Testing
import TestSupport

/// The built `rearguard units` binary against the guest (STYLE T6).
extension GuestSystemdTests {
    static var rearguard: String { TestGuest.packageRoot.appendingPathComponent(".build/debug/rearguard").path }

    func runUnits(_ arguments: [String], address: String = TestGuest.address) async throws -> (status: Int32, output: String, error: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.rearguard) else {
            throw TestGuest.Missing(description: "no \(Self.rearguard): run swift build")
        }
        return try await TestGuest.run([Self.rearguard, "units"] + arguments, environment: ["DBUS_SYSTEM_BUS_ADDRESS": address])
    }

    @Test func unitsJSONPrintsSchemaVersionAndEveryField() async throws {
        _ = try await TestGuest.bus()
        let r = try await runUnits(["--json", "agent-ok.service", "no-such-unit-rearguard.service"])
        #expect(r.status == 0, "\(r.error)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        #expect(doc["schema_version"] as? Int == 1)
        let units = try #require(doc["units"] as? [[String: Any]])
        #expect(units.count == 2)
        let ok = units[0]
        #expect(ok["unit"] as? String == "agent-ok.service")
        #expect(ok["load_state"] as? String == "loaded")
        #expect(ok["active_state"] as? String == "active")
        #expect(ok["sub_state"] as? String == "running")
        #expect(ok["result"] as? String == "success")
        #expect(ok["n_restarts"] as? Int == 0)
        let id = try #require(ok["invocation_id"] as? String)
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
        let changed = try #require(ok["changed_at"] as? String)
        #expect(ISO8601DateFormatter().date(from: changed) != nil && changed.hasSuffix("Z"))
        #expect(units[1]["load_state"] as? String == "not-found")
        #expect(units[1]["changed_at"] is NSNull)
        #expect(Set(units[1].keys) == Set(ok.keys))
    }

    @Test func unitsWatchJSONPrintsOneObjectPerChange() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-sleep@cli.service"
        let p = try Spawn.start(
            [Self.rearguard, "units", "--watch", "--json", unit], environment: ["DBUS_SYSTEM_BUS_ADDRESS": TestGuest.address],
            stderr: .null)
        async let watched = Spawn.finished(p, until: .now + .seconds(30))  // killed below; 30 s at most
        try await Task.sleep(for: .milliseconds(500))
        try await bus.startUnit(unit)
        try await Task.sleep(for: .milliseconds(500))
        try await bus.stopUnit(unit)
        try await Task.sleep(for: .milliseconds(500))
        kill(p.pid, SIGKILL)
        let lines = String(decoding: await watched.output, as: UTF8.self).split(separator: "\n")
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count >= 3, "\(lines)")
        #expect(objects.allSatisfy { $0["unit"] as? String == unit && $0["schema_version"] == nil })
        #expect(objects.contains { $0["sub_state"] as? String == "running" })
        #expect(objects.last?["active_state"] as? String == "inactive")
    }

    @Test func unitsExitsOneWithTheAddressWhenTheBusIsUnreachable() async throws {
        let r = try await runUnits(["agent-ok.service"], address: "unix:path=/nonexistent/rearguard.sock")
        #expect(r.status == 1)
        #expect(r.error.contains("unix:path=/nonexistent/rearguard.sock"))
        #expect(r.output.isEmpty)
    }

    @Test func unitsWatchExitsOneWhenTheBusIsUnreachableFromTheStart() async throws {
        let r = try await runUnits(["--watch", "agent-ok.service"], address: "unix:path=/nonexistent/rearguard.sock")
        #expect(r.status == 1)
        #expect(r.error.contains("unix:path=/nonexistent/rearguard.sock"))
    }

    @Test func unitsWithoutNamesIsAUsageError() async throws {
        let r = try await runUnits([])
        #expect(r.status == 64)
    }
}
