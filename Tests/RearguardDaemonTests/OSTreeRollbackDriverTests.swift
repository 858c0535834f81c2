import Foundation
import RearguardCore
import RearguardDaemon
import Testing
import TestSupport

/// The libostree rollback driver on real sysroots.
@Suite struct OSTreeRollbackDriverTests {
    func driver(_ fixture: SysrootFixture, booting version: String, run: String? = nil) throws -> (OSTreeRollbackDriver, OSTreeDeploymentSource) {
        let source = OSTreeDeploymentSource(sysroot: fixture.path, cmdline: try fixture.cmdline(booting: version), run: run ?? fixture.scratch)
        return (OSTreeRollbackDriver(source: source), source)
    }

    @Test func rollsBackToThePreviousDeploymentAndTheSysrootSaysSo() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let (driver, source) = try driver(fixture, booting: "42.2")
        let snapshot = try await source.snapshot()
        let booted = try #require(snapshot.booted), rollback = try #require(snapshot.rollback)
        try await driver.rollback(from: Assessment.Release(checksum: booted.checksum), to: Assessment.Release(checksum: rollback.checksum, version: rollback.version))
        await #expect(try fixture.adminStatus().map(\.version) == ["42.1", "42.2"])
        // The running kernel's ostree= link is gone after the rewrite: re-reading needs the identity from before...
        #expect(throws: (any Error).self) { try source.readSnapshot() }
        // ...with which the roles are right: 42.1 boots next, 42.2 still runs.
        let after = try source.readSnapshot(knownBooted: BootedIdentity(booted))
        #expect(after.pending?.version == "42.1" && after.booted?.version == "42.2" && after.rollback == nil)
    }

    @Test func refusesWhenAStagedDeploymentIsPresent() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let booted = try await #require(try fixture.adminStatus().first)
        let run = fixture.scratch + "/host-run"
        try await Shell.check([Shell.packageRoot.appendingPathComponent("scripts/stage-deployment.sh").path, fixture.path, "fedora-coreos", "\(booted.checksum).\(booted.serial)", "42.3", run])
        let (driver, source) = try driver(fixture, booting: "42.2", run: run)
        let snapshot = try await source.snapshot()
        let rollback = try #require(snapshot.rollback)
        await #expect(throws: RollbackError.self) {
            try await driver.rollback(from: Assessment.Release(checksum: booted.checksum), to: Assessment.Release(checksum: rollback.checksum))
        }
        await #expect(throws: RollbackError.self) { try await driver.clearStaged() }
        await #expect(try fixture.adminStatus().map(\.version) == ["42.2", "42.1"])
    }

    @Test func refusesATargetThatIsNotADeployment() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let (driver, _) = try driver(fixture, booting: "42.2")
        await #expect(throws: RollbackError.self) {
            try await driver.rollback(from: Assessment.Release(checksum: "x"), to: Assessment.Release(checksum: String(repeating: "9", count: 64)))
        }
        await #expect(try fixture.adminStatus().map(\.version) == ["42.2", "42.1"])
    }
}
