import Foundation
import Testing
import TestSupport

/// `rearguard deployments`, run as the built binary against real sysroots.
@Suite struct DeploymentsCommandTests {
    struct Listed: Decodable {
        var index: Int, osname: String, checksum: String, serial: Int, version: String?, timestamp: String?
        var origin: String?, pinned: Bool, staged: Bool, booted: Bool, role: String
    }
    struct Document: Decodable {
        var schema_version: Int
        var deployments: [Listed]
    }

    private func listJSON(_ fixture: SysrootFixture, cmdline: String, extra: [String] = []) async throws -> (Document, ProcessOutput) {
        let output = try await Shell.run([try Shell.rearguardBinary(), "deployments", "--sysroot", fixture.path, "--cmdline", cmdline, "--run", fixture.scratch, "--json"] + extra)
        #expect(output.status == 0, "stderr: \(output.stderr)")
        return (try JSONDecoder().decode(Document.self, from: Data(output.stdout.utf8)), output)
    }

    private func agreesWithOstreeAdminStatus(_ document: Document, _ fixture: SysrootFixture) async throws {
        let reference = try await fixture.adminStatus()
        let listed = document.deployments.map {
            SysrootFixture.StatusEntry(osname: $0.osname, checksum: $0.checksum, serial: $0.serial, version: $0.version, isPinned: $0.pinned)
        }
        #expect(listed == reference)
    }

    @Test func oneDeploymentBootedHasNoRollback() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        let (doc, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "42.1"))
        #expect(doc.schema_version == 1)
        #expect(doc.deployments.map(\.role) == ["booted"])
        #expect(doc.deployments[0].booted && doc.deployments[0].timestamp?.hasSuffix("Z") == true)
        try await agreesWithOstreeAdminStatus(doc, fixture)
    }

    @Test func twoDeploymentsBootedNewestRollsBackToTheOlder() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let (doc, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "42.2"))
        #expect(doc.deployments.map(\.role) == ["booted", "rollback"])
        #expect(doc.deployments.map(\.version) == ["42.2", "42.1"])
        try await agreesWithOstreeAdminStatus(doc, fixture)
    }

    @Test func threeDeploymentsBootedOlderShowsPendingAndRollback() async throws {
        let fixture = try await SysrootFixture(versions: ["41.9", "42.1", "42.2"])
        let (doc, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "42.1"))
        #expect(doc.deployments.map(\.role) == ["pending", "booted", "rollback"])
        #expect(doc.deployments.map(\.index) == [0, 1, 2])
        try await agreesWithOstreeAdminStatus(doc, fixture)
    }

    @Test func pinnedDeploymentIsReportedPinned() async throws {
        let fixture = try await SysrootFixture(versions: ["41.9", "42.1", "42.2"])
        try await fixture.pin(index: 2)
        let (doc, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "42.2"))
        #expect(doc.deployments.map(\.pinned) == [false, false, true])
        try await agreesWithOstreeAdminStatus(doc, fixture)
    }

    @Test func twoStaterootsKeepRolesWithinTheBootedOne() async throws {
        let fixture = try await SysrootFixture(osname: "fedora-coreos", versions: ["42.1", "42.2"])
        try await fixture.add(osname: "rhcos", versions: ["9.6"])
        let (doc, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "42.2"))
        #expect(doc.deployments.map(\.osname) == ["rhcos", "fedora-coreos", "fedora-coreos"])
        #expect(doc.deployments.map(\.role) == ["other", "booted", "rollback"])
        try await agreesWithOstreeAdminStatus(doc, fixture)
        let (other, _) = try await listJSON(fixture, cmdline: try fixture.cmdline(booting: "9.6", osname: "rhcos"))
        #expect(other.deployments.map(\.role) == ["booted", "other", "other"])
    }

    @Test func withoutOstreeArgumentListsWithNoBootedAndSaysSo() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let (doc, output) = try await listJSON(fixture, cmdline: try fixture.writeCmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet"))
        #expect(doc.deployments.allSatisfy { !$0.booted && $0.role == "other" })
        #expect(output.stderr.contains("no ostree= argument"))
        try await agreesWithOstreeAdminStatus(doc, fixture)
    }

    @Test func humanTableMarksTheBootedDeployment() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let output = try await Shell.run([try Shell.rearguardBinary(), "deployments", "--sysroot", fixture.path, "--cmdline", try fixture.cmdline(booting: "42.1"), "--run", fixture.scratch])
        #expect(output.status == 0)
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("ROLE") && lines[0].contains("VERSION"))
        #expect(lines[2].hasPrefix("*") && lines[2].contains("booted") && lines[2].contains("42.1"))
        #expect(lines[1].contains("pending") && lines[1].contains("42.2"))
    }

    // MARK: bad input: one clear line on stderr naming the path, exit 1, never a trap

    private func fails(_ arguments: [String], mentioning needles: [String]) async throws {
        let output = try await Shell.run([try Shell.rearguardBinary(), "deployments"] + arguments)
        #expect(output.status == 1, "exit \(output.status), stderr: \(output.stderr)")
        #expect(output.stdout.isEmpty)
        let lines = output.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(output.stderr)")
        for needle in needles { #expect(output.stderr.contains(needle), "stderr lacks \(needle): \(output.stderr)") }
    }

    /// libostree is opened by the commands that read a sysroot, and only by them (issue 13).
    @Test func onlyTheCommandsThatReadASysrootLoadLibostree() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        let binary = try Shell.rearguardBinary()
        let loads = ["LD_DEBUG": "libs"]
        let help = try await Shell.run(["env", "LD_DEBUG=libs", binary, "--help"])
        #expect(help.status == 0 && !help.stderr.isEmpty, "LD_DEBUG printed nothing: \(help.stderr)")
        #expect(!help.stderr.contains("libostree"), "--help loaded libostree")
        let listed = try await Shell.run(
            [binary, "deployments", "--sysroot", fixture.path, "--cmdline", try fixture.cmdline(booting: "42.1"), "--json"],
            environment: ProcessInfo.processInfo.environment.merging(loads) { $1 })
        #expect(listed.status == 0 && listed.stderr.contains("libostree-1.so.1"), "\(listed.stderr.suffix(2000))")
    }

    /// A host whose libostree cannot be loaded gets one line that names it, and exit 1: nothing is guessed.
    @Test func anUnloadableLibostreeIsNamed() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        let libraries = scratchDir("broken-libostree")
        try "not a library".write(toFile: libraries + "/libostree-1.so.1", atomically: true, encoding: .utf8)
        let output = try await Shell.run(
            [try Shell.rearguardBinary(), "deployments", "--sysroot", fixture.path, "--cmdline", try fixture.cmdline(booting: "42.1")],
            environment: ProcessInfo.processInfo.environment.merging(["LD_LIBRARY_PATH": libraries]) { $1 })
        #expect(output.status == 1, "exit \(output.status), stderr: \(output.stderr)")
        #expect(output.stderr.contains("cannot load libostree-1.so.1") && output.stderr.contains("install libostree"), "\(output.stderr)")
        #expect(output.stdout.isEmpty)
    }

    @Test func missingSysrootPathFails() async throws {
        let path = "/nonexistent/rearguard-\(UUID().uuidString)"
        try await fails(["--sysroot", path], mentioning: [path, "does not exist"])
    }

    @Test func folderThatIsNotASysrootFails() async throws {
        let fixture = try await SysrootFixture(versions: [])
        try await fails(["--sysroot", fixture.scratch], mentioning: [fixture.scratch, "not an OSTree sysroot"])
    }

    @Test func sysrootWithNoDeploymentsFails() async throws {
        let fixture = try await SysrootFixture(versions: [])
        try FileManager.default.createDirectory(atPath: fixture.path, withIntermediateDirectories: true)
        try await Shell.check(["ostree", "admin", "init-fs", "--modern", fixture.path])
        try await Shell.check(["ostree", "admin", "os-init", "--sysroot=\(fixture.path)", "fedora-coreos"])
        try await fails(["--sysroot", fixture.path, "--cmdline", try fixture.writeCmdline("quiet")], mentioning: [fixture.path, "no deployments"])
    }

    @Test func unreadableOrMissingCmdlineFails() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        let missing = fixture.scratch + "/no-cmdline"
        try await fails(["--sysroot", fixture.path, "--cmdline", missing], mentioning: [missing, "does not exist"])
        try await fails(["--sysroot", fixture.path, "--cmdline", fixture.scratch], mentioning: [fixture.scratch, "cannot read"])
    }

    @Test func ostreeArgumentThatResolvesToNothingFails() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        let bogus = "ostree=/ostree/boot.1/fedora-coreos/\(String(repeating: "0", count: 64))/7"
        try await fails(["--sysroot", fixture.path, "--cmdline", try fixture.writeCmdline("rw \(bogus)")], mentioning: [bogus, "resolves to nothing", fixture.path])
        let malformed = try fixture.writeCmdline("rw ostree=/not/a/bootlink")
        try await fails(["--sysroot", fixture.path, "--cmdline", malformed], mentioning: [malformed, "ostree=/not/a/bootlink"])
    }

    @Test func badStagedStateFailsNamingTheFile() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1"])
        try FileManager.default.createDirectory(atPath: fixture.scratch + "/ostree", withIntermediateDirectories: true)
        try Data("not a gvariant".utf8).write(to: URL(fileURLWithPath: fixture.scratch + "/ostree/staged-deployment"))
        try await fails(["--sysroot", fixture.path, "--cmdline", try fixture.cmdline(booting: "42.1"), "--run", fixture.scratch],
                  mentioning: [fixture.scratch + "/ostree/staged-deployment"])
    }

    @Test func usageErrorsExit64() async throws {
        let output = try await Shell.run([try Shell.rearguardBinary(), "deployments", "--no-such-flag"])
        #expect(output.status == 64)
        #expect(output.stderr.contains("--no-such-flag"))
    }
}

/// A deployment staged by libostree itself (scripts/stage-deployment.sh), read from the host's /run.
@Suite struct StagedDeploymentTests {
    @Test func stagedDeploymentFromTheHostRunIsListedFirstWithLockedFinalization() async throws {
        let fixture = try await SysrootFixture(versions: ["42.1", "42.2"])
        let booted = try await #require(try fixture.adminStatus().first)
        let run = fixture.scratch + "/host-run"
        let stage = Shell.packageRoot.appendingPathComponent("scripts/stage-deployment.sh").path
        try await Shell.check([stage, fixture.path, "fedora-coreos", "\(booted.checksum).\(booted.serial)", "42.3", run])
        #expect(FileManager.default.fileExists(atPath: run + "/ostree/staged-deployment"))

        let output = try await Shell.run([try Shell.rearguardBinary(), "deployments", "--sysroot", fixture.path,
                                    "--cmdline", try fixture.cmdline(booting: "42.2"), "--run", run, "--json"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let doc = try JSONDecoder().decode(DeploymentsCommandTests.Document.self, from: Data(output.stdout.utf8))
        #expect(doc.deployments.map(\.role) == ["staged", "booted", "rollback"])
        #expect(doc.deployments.map(\.version) == ["42.3", "42.2", "42.1"])
        #expect(doc.deployments.map(\.index) == [0, 1, 2])
        #expect(doc.deployments[0].staged && doc.deployments[0].origin == "fedora-coreos/stable")
        #expect(output.stdout.contains("\"finalization_locked\" : true"))
        // The staged deployment's folder exists but no boot entry does: ostree admin status (not booted) omits it.
        await #expect(try fixture.adminStatus().map(\.version) == ["42.2", "42.1"])

        // Without the host's /run, nothing is staged.
        let plain = try await Shell.run([try Shell.rearguardBinary(), "deployments", "--sysroot", fixture.path,
                                   "--cmdline", try fixture.cmdline(booting: "42.2"), "--run", fixture.scratch, "--json"])
        #expect(!plain.stdout.contains("\"staged\" : true"))
    }
}
