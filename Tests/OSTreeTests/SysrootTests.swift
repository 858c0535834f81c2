import Foundation
import OSTree
import Testing
import TestSupport

/// The libostree wrapper against real sysroots made with `ostree admin`.
@Suite struct SysrootTests {
    @Test func listsDeploymentsInBootOrderLikeOstreeAdminStatus() async throws {
        let fixture = try await SysrootFixture(versions: ["41.20250101.3.0", "42.20251110.3.0", "42.20251124.3.0"])
        try await fixture.pin(index: 2)
        let sysroot = try Sysroot(path: fixture.path)
        let listed = try sysroot.deployments()
        let reference = try await fixture.adminStatus()
        #expect(listed.count == 3)
        #expect(listed.map { SysrootFixture.StatusEntry(osname: $0.osname, checksum: $0.checksum, serial: $0.serial, version: $0.version, isPinned: $0.isPinned) } == reference)
        #expect(listed.map(\.index) == [0, 1, 2])
        #expect(listed.map(\.version) == ["42.20251124.3.0", "42.20251110.3.0", "41.20250101.3.0"])
        #expect(listed.allSatisfy { $0.origin == "fedora-coreos/stable" && !$0.isStaged && $0.unlocked == .none })
        #expect(listed.allSatisfy { $0.checksum.count == 64 && $0.timestamp != nil })
    }

    @Test func readsCommitTimestampAndVersionFromTheRepo() async throws {
        let fixture = try await SysrootFixture(versions: ["1.0"])
        let deployment = try #require(try Sysroot(path: fixture.path).deployments().first)
        let rev = try await Shell.check(["ostree", "--repo=\(fixture.path)/ostree/repo", "show", "--print-metadata-key=version", deployment.checksum])
        #expect(rev.contains("'1.0'"))
        let log = try await Shell.check(["ostree", "--repo=\(fixture.path)/ostree/repo", "log", deployment.checksum])
        #expect(log.contains("Date:  2025-11-"))
        #expect(deployment.timestamp.map { $0 > Date(timeIntervalSince1970: 1_761_955_200) } == true)  // after 2025-11-01
    }

    @Test func knowsNoBootedDeploymentForASysrootThatIsNotTheRunningRoot() async throws {
        let fixture = try await SysrootFixture(versions: ["1.0", "2.0"])
        #expect(try Sysroot(path: fixture.path).libostreeBootedDeployment() == nil)
    }

    @Test func resolvesTheBootArgumentThroughTheBootLinkSymlink() async throws {
        let fixture = try await SysrootFixture(versions: ["1.0", "2.0"])
        let sysroot = try Sysroot(path: fixture.path)
        let older = try #require(try sysroot.deployments().last)
        let value = try fixture.bootArgument(version: "1.0")
        let argument = try #require(try BootArgument.find(inCommandLine: "quiet \(value) rw", source: "test"))
        let resolved = try sysroot.resolve(argument)
        #expect(resolved.checksum == older.checksum && resolved.serial == older.serial && resolved.osname == "fedora-coreos")
    }

    @Test func rejectsMalformedAndConflictingBootArguments() throws {
        #expect(try BootArgument.find(inCommandLine: "quiet rw", source: "f") == nil)
        for bad in ["ostree=/boot/x", "ostree=/ostree/boot.2/os/abc/0", "ostree=/ostree/boot.0/os/abc/x", "ostree="] {
            #expect(throws: OSTreeError.self, "\(bad)") { try BootArgument.find(inCommandLine: bad, source: "f") }
        }
        #expect(throws: OSTreeError.self) {
            try BootArgument.find(inCommandLine: "ostree=/ostree/boot.0/a/b/0 ostree=/ostree/boot.1/a/b/0", source: "f")
        }
    }

    @Test func namesThePathWhenTheSysrootIsMissingOrNotOSTree() throws {
        let missing = "/nonexistent/rearguard-\(UUID().uuidString)"
        let notFound = #expect(throws: OSTreeError.self) { try Sysroot(path: missing) }
        #expect(notFound?.code == .notFound && notFound?.message.contains(missing) == true)
        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let notSysroot = #expect(throws: OSTreeError.self) { try Sysroot(path: plain) }
        #expect(notSysroot?.code == .notASysroot && notSysroot?.message.contains(plain) == true)
    }

    @Test func parsesDeploymentFolderNames() {
        let sum = String(repeating: "ab", count: 32)
        #expect(Sysroot.parseDeploymentNameForTesting("\(sum).3")?.1 == 3)
        #expect(Sysroot.parseDeploymentNameForTesting("\(sum)") == nil)
        #expect(Sysroot.parseDeploymentNameForTesting("xyz.0") == nil)
        #expect(Sysroot.parseDeploymentNameForTesting("\(sum).-1") == nil)
    }
}

/// Reordering a real sysroot (the `ostree` rollback driver's primitive), read back with `ostree admin status`.
@Suite struct SysrootWriteTests {
    @Test func movingTheRollbackDeploymentToTheFrontKeepsTheRestInOrder() async throws {
        let fixture = try await SysrootFixture(versions: ["41.1", "42.1", "42.2"])
        let before = try await fixture.adminStatus()
        let sysroot = try Sysroot(path: fixture.path)
        let target = before[1]
        #expect(try sysroot.moveToFront(osname: target.osname, checksum: target.checksum, serial: target.serial))
        let after = try await fixture.adminStatus()
        #expect(after.map(\.version) == ["42.1", "42.2", "41.1"])
        #expect(try Sysroot(path: fixture.path).deployments().map(\.version) == ["42.1", "42.2", "41.1"])
        // The boot loader now boots 42.1 first.
        let entries = try FileManager.default.contentsOfDirectory(atPath: fixture.path + "/boot/loader/entries")
        let newest = try #require(entries.sorted().last)
        #expect(try String(contentsOfFile: fixture.path + "/boot/loader/entries/" + newest, encoding: .utf8).contains("title fedora-coreos 42.1 "))
    }

    @Test func movingTheFirstDeploymentWritesNothing() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let first = try await #require(try fixture.adminStatus().first)
        #expect(try Sysroot(path: fixture.path).moveToFront(osname: first.osname, checksum: first.checksum, serial: first.serial) == false)
        await #expect(try fixture.adminStatus().map(\.version) == ["42.2", "42.1"])
    }

    @Test func anUnknownDeploymentIsAnErrorAndNothingChanges() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let error = #expect(throws: OSTreeError.self) {
            try Sysroot(path: fixture.path).moveToFront(osname: "fedora-coreos", checksum: String(repeating: "0", count: 64), serial: 0)
        }
        #expect(error?.code == .notFound)
        await #expect(try fixture.adminStatus().map(\.version) == ["42.2", "42.1"])
    }
}
