import Foundation
import Testing
import TestSupport

/// Issue 14 step 3 on the node's real logind: while a new deployment is on probation, and while a required check fails
/// on a known-good boot, Rearguard holds a `block` shutdown inhibitor, so an update reboot by an unprivileged caller
/// (Zincati's way: polkit lets it reboot, never ignore an inhibitor) is refused; once good again, it is not.
@Suite(.serialized) struct NodeInhibitorTests {
    static let next = "42.20251215.3.0"
    static let login1 = ["org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager"]

    static func inhibitors() -> String {
        (try? NodeGuest.run(["systemd-inhibit", "--list", "--no-pager", "--mode=block"]))?.stdout ?? ""
    }

    /// logind's `CanReboot` for Zincati's stand-in user: `yes` when nothing stands in the way.
    static func canRebootAsZincati() -> String {
        let out = (try? NodeGuest.run(["busctl", "call"] + login1 + ["CanReboot"], user: "nobody"))?.stdout ?? ""
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func updateRebootsAreBlockedWhileOnProbationOrFailingAndFreeOnceGood() async throws {
        try await NodeGuest.reset()
        #expect(Self.canRebootAsZincati() == "s \"yes\"", "Zincati's stand-in must be allowed to reboot a good node")
        #expect(!Self.inhibitors().contains("rearguard"), "a good node inhibits nothing:\n\(Self.inhibitors())")

        // A new release on probation, with a soak long enough to look at it.
        try NodeGuest.write("/etc/rearguard/config.d/95-test-inhibit.toml", "[assessment]\nsoak = \"40s\"\n")
        try NodeGuest.deploy(Self.next)
        try await NodeGuest.reboot()
        try await NodeGuest.waitState("probation")
        #expect(await waitUntil(20) { Self.inhibitors().contains("rearguard") }, "no inhibitor:\n\(Self.inhibitors())")
        let list = Self.inhibitors()
        #expect(list.contains("shutdown") && list.contains("block") && list.contains("probation of \(Self.next)"), "\(list)")
        #expect(NodeGuest.status()?["updates_inhibited"] as? String != nil)

        // Zincati's reboot, from an unprivileged caller: refused, and the node stays up.
        let boots = NodeGuest.boots().count
        #expect(Self.canRebootAsZincati() != "s \"yes\"")
        let refused = try NodeGuest.run(["systemctl", "reboot"], user: "nobody")
        #expect(refused.status != 0, "an update reboot went through during probation")
        try await Task.sleep(for: .seconds(2))
        #expect(NodeGuest.boots().count == boots)

        // Good after the soak: the inhibitor goes, and the same caller may reboot again.
        try await NodeGuest.waitState("good", within: 90)
        #expect(await waitUntil(10) { !Self.inhibitors().contains("rearguard") }, "\(Self.inhibitors())")
        #expect(Self.canRebootAsZincati() == "s \"yes\"")

        // A required check failing on the known-good boot blocks update reboots until it passes again.
        try NodeGuest.write("/etc/dnsmasq.d/site.conf", try NodeGuest.brokenDNSConfig())
        try NodeGuest.check(["systemctl", "restart", "dnsmasq.service"])
        #expect(await waitUntil(60) { Self.inhibitors().contains("failing on known-good") }, "\(Self.inhibitors())")
        #expect(Self.canRebootAsZincati() != "s \"yes\"")
        #expect(NodeGuest.state() == "good", "never blamed on the OS once known good")
        try NodeGuest.restoreShipped("quadlet/site/dnsmasq.conf", at: "/etc/dnsmasq.d/site.conf")
        try NodeGuest.check(["systemctl", "restart", "dnsmasq.service"])
        #expect(await waitUntil(60) { !Self.inhibitors().contains("rearguard") }, "\(Self.inhibitors())")
        #expect(Self.canRebootAsZincati() == "s \"yes\"")
        #expect(NodeGuest.boots().count == boots + 0, "nothing rebooted the node")
    }
}
