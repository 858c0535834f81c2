import DBus
import Foundation
import Systemd
import Testing
import TestSupport

extension GuestSystemdTests {
    @Test func rebootShowsAsBusLossThenTheWatchReconnectsWithNewState() async throws {
        let bus = try await TestGuest.bus()
        let unit = "agent-ok.service"
        let (log, task) = EventLog.start(UnitWatch.events(
            units: [unit], address: TestGuest.address, backoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)),
            logger: TestGuest.logger))
        defer { task.cancel() }
        let (first, i) = try await log.wait("initial state") { EventLog.state($0, unit)?.activeState == "active" }
        let before = try #require(EventLog.state(first, unit)).invocationID

        let path = try await bus.reboot()
        #expect(path == .logind)

        let (_, j) = try await log.wait(after: i, timeout: .seconds(30), "bus loss") {
            if case .disconnected = $0 { return true } else { return false }
        }
        let (_, k) = try await log.wait(after: j, timeout: .seconds(60), "reconnect") {
            if case .connected = $0 { return true } else { return false }
        }
        let (after, _) = try await log.wait(after: k - 1, timeout: .seconds(60), "agent-ok active after boot") {
            EventLog.state($0, unit)?.activeState == "active"
        }
        #expect(try #require(EventLog.state(after, unit)).invocationID != before)

        // Leave the guest fully booted for whatever runs next; the Bus reconnects too.
        let deadline = ContinuousClock.now + .seconds(60)
        var state = ""
        while ContinuousClock.now < deadline {
            state = (try? await bus.systemState()) ?? ""
            if state == "running" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(state == "running")
    }

    @Test func rebootFallsBackToRebootTargetWhenLogindIsAbsent() async throws {
        let bus = try await TestGuest.bus()
        // A runtime mask lives in the guest's /run, so the next boot has logind again.
        let mask = try await TestGuest.inGuest(["systemctl", "mask", "--runtime", "--now", "systemd-logind.service"])
        #expect(mask.status == 0, "\(mask.error)")
        let before = try await bus.unitStatus("agent-ok.service").invocationID

        let path = try await bus.reboot()
        #expect(path == .rebootTarget)

        let deadline = ContinuousClock.now + .seconds(60)
        var after = before
        while ContinuousClock.now < deadline {
            if let s = try? await bus.unitStatus("agent-ok.service"), s.activeState == "active", s.invocationID != before,
               (try? await bus.systemState()) == "running" {
                after = s.invocationID
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(after != before, "the guest did not come back with a new agent-ok run")
        #expect(try await bus.listInhibitors().count >= 0)  // logind answers again
    }
}
