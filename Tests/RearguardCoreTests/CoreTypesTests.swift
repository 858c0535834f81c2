import Foundation
import Testing
@testable import RearguardCore

@Suite struct DurationAndAddressTests {
    @Test func durationsParseAndRenderRoundTrip() {
        #expect(ConfigDuration.parse("500ms") == .milliseconds(500))
        #expect(ConfigDuration.parse("2s") == .seconds(2))
        #expect(ConfigDuration.parse("10m") == .seconds(600))
        #expect(ConfigDuration.parse("1h") == .seconds(3600))
        #expect(ConfigDuration.parse("0s") == .zero)
        for bad in ["", "2", "s", "-1s", "1.5s", "2 s", "2sec", "10M"] { #expect(ConfigDuration.parse(bad) == nil, "\(bad)") }
        for text in ["500ms", "2s", "10m", "1h", "0s", "1500ms"] {
            #expect(ConfigDuration.render(ConfigDuration.parse(text) ?? .zero) == text)
        }
    }

    @Test func hostPortsParseWithDefaults() {
        #expect(HostPort.parse("127.0.0.1", defaultPort: 53) == HostPort(host: "127.0.0.1", port: 53))
        #expect(HostPort.parse("127.0.0.1:5353", defaultPort: 53) == HostPort(host: "127.0.0.1", port: 5353))
        #expect(HostPort.parse("[::1]:5353", defaultPort: 53) == HostPort(host: "::1", port: 5353))
        #expect(HostPort.parse("::1", defaultPort: 53) == HostPort(host: "::1", port: 53))
        #expect(HostPort.parse("127.0.0.1", defaultPort: nil) == nil)
        #expect(HostPort.parse("127.0.0.1:0", defaultPort: 53) == nil)
        #expect(HostPort(host: "::1", port: 53).description == "[::1]:53")
    }

    @Test func ipLiteralsAreRecognised() {
        #expect(IPLiteral.isIPv4("10.213.0.1") && !IPLiteral.isIPv4("10.213.0.256") && !IPLiteral.isIPv4("a.b.c.d"))
        #expect(IPLiteral.isIPv6("::1") && IPLiteral.isIPv6("fd00::53") && IPLiteral.isIPv6("::ffff:127.0.0.1"))
        #expect(!IPLiteral.isIPv6("dns.lan") && !IPLiteral.isIPv6("1::2::3"))
    }
}

@Suite struct CheckTrackerTests {
    func result(_ status: CheckStatus) -> CheckResult {
        CheckResult(name: "c", kind: .tcp, required: true, status: status, latencyMs: 1, message: "", observedAt: Date())
    }

    @Test func healthIsUnknownUntilAResultArrives() {
        #expect(CheckTracker(startPeriod: .zero, failureThreshold: 3, successThreshold: 1).health == .unknown)
    }

    @Test func turnsFailingOnlyAfterFailureThresholdFailuresInARow() {
        var t = CheckTracker(startPeriod: .zero, failureThreshold: 3, successThreshold: 1)
        #expect(t.record(result(.pass), sinceBoot: .seconds(1)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(2)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(3)) == .passing)
        #expect(t.record(result(.pass), sinceBoot: .seconds(4)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(5)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(6)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(7)) == .failing)
    }

    @Test func turnsPassingOnlyAfterSuccessThresholdPassesInARow() {
        var t = CheckTracker(startPeriod: .zero, failureThreshold: 1, successThreshold: 2)
        #expect(t.record(result(.fail), sinceBoot: .seconds(1)) == .failing)
        #expect(t.record(result(.pass), sinceBoot: .seconds(2)) == .failing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(3)) == .failing)
        #expect(t.record(result(.pass), sinceBoot: .seconds(4)) == .failing)
        #expect(t.record(result(.pass), sinceBoot: .seconds(5)) == .passing)
    }

    @Test func failuresInsideTheStartPeriodDoNotCount() {
        var t = CheckTracker(startPeriod: .seconds(30), failureThreshold: 1, successThreshold: 1)
        #expect(t.record(result(.fail), sinceBoot: .seconds(5)) == .unknown)
        #expect(t.consecutiveFailures == 0)
        #expect(t.record(result(.fail), sinceBoot: .seconds(31)) == .failing)
    }

    @Test func aFailureInsideTheStartPeriodEndsAnEarlierPass() {
        var t = CheckTracker(startPeriod: .seconds(30), failureThreshold: 1, successThreshold: 1)
        #expect(t.record(result(.pass), sinceBoot: .seconds(5)) == .passing)
        #expect(t.record(result(.fail), sinceBoot: .seconds(10)) == .unknown)
        #expect(t.consecutiveFailures == 0)
    }

    @Test func anUnknownResultIsNeitherAPassNorAFailure() {
        var t = CheckTracker(startPeriod: .zero, failureThreshold: 2, successThreshold: 1)
        #expect(t.record(result(.pass), sinceBoot: .seconds(1)) == .passing)
        #expect(t.record(result(.unknown), sinceBoot: .seconds(2)) == .unknown)
        #expect(t.record(result(.fail), sinceBoot: .seconds(3)) == .unknown)
        #expect(t.record(result(.unknown), sinceBoot: .seconds(4)) == .unknown)
        #expect(t.consecutiveFailures == 1, "unknowns neither count nor clear failures")
        #expect(t.record(result(.fail), sinceBoot: .seconds(5)) == .failing)
    }

    @Test func aPassInsideTheStartPeriodCounts() {
        var t = CheckTracker(startPeriod: .seconds(30), failureThreshold: 1, successThreshold: 1)
        #expect(t.record(result(.pass), sinceBoot: .seconds(5)) == .passing)
    }
}

@Suite struct UnitFlapTrackerTests {
    func state(_ restarts: UInt32, _ invocation: String) -> UnitState {
        UnitState(unit: "x.service", loadState: "loaded", activeState: "active", subState: "running", result: "success",
                  nRestarts: restarts, invocationID: invocation, changedAt: nil)
    }

    @Test func theFirstObservationIsABaselineNotARestart() {
        var t = UnitFlapTracker()
        t.observe(state(5, "a"), at: Date())
        #expect(!t.isFlapping(at: Date(), window: .seconds(10)))
    }

    @Test func anNRestartsIncreaseWithinTheWindowIsFlapping() {
        var t = UnitFlapTracker()
        let t0 = Date(timeIntervalSince1970: 1000)
        t.observe(state(0, "a"), at: t0)
        t.observe(state(1, "a"), at: t0 + 1)
        #expect(t.isFlapping(at: t0 + 5, window: .seconds(10)))
        #expect(!t.isFlapping(at: t0 + 12, window: .seconds(10)))
    }

    @Test func aNewInvocationIDWithinTheWindowIsFlapping() {
        var t = UnitFlapTracker()
        let t0 = Date(timeIntervalSince1970: 1000)
        t.observe(state(0, "a"), at: t0)
        t.observe(state(0, "b"), at: t0 + 1)
        #expect(t.isFlapping(at: t0 + 2, window: .seconds(10)))
    }
}

@Suite struct GreenbootTests {
    @Test func executableScriptsBecomeRequiredAndWantedCommandChecks() throws {
        let fx = ConfigFixture()
        let usr = fx.write("usr/check/required.d", "10-a.sh", "#!/bin/sh\nexit 0\n")
        let etc = fx.write("etc/check/required.d", "10-a.sh", "#!/bin/sh\nexit 1\n")
        let wanted = fx.write("etc/check/wanted.d", "20-b.sh", "#!/bin/sh\nexit 0\n")
        fx.write("etc/check/wanted.d", "not-executable", "")
        for p in [usr, etc, wanted] { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: p) }
        let checks = Greenboot.checks(roots: [fx.root + "/usr/check", fx.root + "/etc/check"])
        #expect(checks.map(\.name) == ["greenboot-required-10-a.sh", "greenboot-wanted-20-b.sh"])
        #expect(checks.map(\.required) == [true, false])
        #expect(checks[0].target == .command([etc]))
    }
}

/// `Double.fixed` writes what C's printf `%.*f` writes (the CLI's tables and the NTP check's offsets).
@Suite struct FixedDecimalsTests {
    @Test func matchesPrintf() {
        #expect(0.15.fixed(1) == "0.1")
        #expect(448.95.fixed(1) == "448.9")
        #expect((-0.0004).fixed(3) == "-0.000")
        #expect(1234.5678.fixed(1) == "1234.6")
        #expect(0.0.fixed(3) == "0.000")
        #expect(12.0.fixed(0) == "12")
        #expect(1e16.fixed(1) == "10000000000000000.0")
    }
}
