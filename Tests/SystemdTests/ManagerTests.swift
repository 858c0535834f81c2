import DBus
import Foundation
import Systemd
import Posix
import Testing
import TestSupport

extension GuestSystemdTests {
    @Test func shutdownInhibitorIsListedUntilReleased() async throws {
        let bus = try await TestGuest.bus()
        let why = "rearguard test \(UUID().uuidString)"
        // The holder runs in the guest's pid namespace: logind identifies inhibitors by pid.
        let probe = try TestGuest.probe(inGuestPIDNamespace: ["inhibit", why, "2"])
        defer { probe.stop() }
        var held: [InhibitorInfo] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while held.isEmpty, probe.isRunning, ContinuousClock.now < deadline {
            held = try await bus.listInhibitors().filter { $0.why == why }
            if held.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(held.count == 1)
        #expect(held.first?.what == "shutdown")
        #expect(held.first?.mode == "block")
        #expect(held.first?.who == "rearguard-tests")
        while probe.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(probe.exitStatus == .exited(0))
        // logind notices the closed fd asynchronously.
        var remaining = 1
        let gone = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < gone {
            remaining = try await bus.listInhibitors().filter { $0.why == why }.count
            if remaining == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(remaining == 0)
    }

    @Test func inhibitFromAnotherPIDNamespaceFailsWithAHint() async throws {
        let bus = try await TestGuest.bus()
        let error = await #expect(throws: BusError.self) {
            _ = try await bus.inhibit(what: "shutdown", who: "rearguard-tests", why: "outside", mode: "block")
        }
        #expect(error?.message.contains("pid namespace") == true)
    }

    @Test func notifierReportsReadyAndStatusToSystemd() async throws {
        let bus = try await TestGuest.bus()
        try TestGuest.installProbe()
        let unit = "agent-notify.service"
        try? await bus.resetFailedUnit(unit)
        try await bus.startUnit(unit)
        // Type=notify: the unit becomes active only after READY=1.
        let deadline = ContinuousClock.now + .seconds(20)
        var s = try await bus.unitStatus(unit)
        while s.activeState != "active", s.activeState != "failed", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            s = try await bus.unitStatus(unit)
        }
        #expect(s.activeState == "active")
        #expect(s.subState == "running")
        let status = try await TestGuest.busctlProperty(s.objectPath, "org.freedesktop.systemd1.Service", "StatusText")
        #expect(status == "s \"probe ready\"")
        // WatchdogSec=1: still the same run after 2 s only if WATCHDOG=1 keeps arriving.
        try await Task.sleep(for: .seconds(2))
        let later = try await bus.unitStatus(unit)
        #expect(later.activeState == "active")
        #expect(later.invocationID == s.invocationID)
        #expect(later.result == "success")
        try await bus.stopUnit(unit)
    }

    @Test func journalHandlerWritesStructuredEntriesWithMessageID() async throws {
        _ = try await TestGuest.bus()
        try TestGuest.installProbe()
        let token = UUID().uuidString.lowercased()
        let r = try await TestGuest.inGuest(["/opt/rearguard/rearguard-systemd-probe", "journal", token])
        #expect(r.status == 0, "probe failed: \(r.error)")
        #expect(r.output.contains("journal"), "the probe fell back to stderr inside the guest: \(r.output)")
        var entry = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while entry.isEmpty, ContinuousClock.now < deadline {
            entry = try await TestGuest.inGuest(["journalctl", "--no-pager", "-o", "json", "REARGUARD_TOKEN=\(token)"]).output
            if entry.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        let json = try #require(entry.split(separator: "\n").first.map { Data($0.utf8) })
        let fields = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(fields["MESSAGE"] as? String == "probe entry")
        #expect(fields["MESSAGE_ID"] as? String == "4b2a1c7e0f5d4e6a9b8c7d6e5f4a3b2c")
        #expect(fields["PRIORITY"] as? String == "4")
        #expect(fields["REARGUARD_CHECK"] as? String == "dns")
        #expect(fields["SYSLOG_IDENTIFIER"] as? String == "rearguard-probe")
        #expect((fields["CODE_FILE"] as? String)?.hasSuffix("main.swift") == true)
    }

    @Test func journalHandlerFallsBackToStderrWithoutTheJournalSocket() {
        // The host runs no journald; the handler must not pretend.
        let handler = JournalLogHandler.standard(label: "t")
        #expect(FileManager.default.fileExists(atPath: JournalLogHandler.socketPath) == (handler is JournalLogHandler))
    }
}
