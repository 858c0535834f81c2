import Foundation
import Testing
import TestScopes
import TestSupport

/// Issue 14 step 3 on the node's real logind: while a new deployment is on probation, and while a required check fails
/// on a known-good boot, Rearguard holds a `block` shutdown inhibitor, so an update reboot by an unprivileged caller
/// (Zincati's way: polkit lets it reboot, never ignore an inhibitor) is refused; once good again, it is not.
@Suite(.serialized, .nodeGuest(cost: 75)) struct NodeInhibitorTests {
    static let next = "42.20251215.3.0"
    static let login1 = ["org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager"]

    static func inhibitors() async -> String {
        (try? await NodeGuest.run(["systemd-inhibit", "--list", "--no-pager", "--mode=block"]))?.stdout ?? ""
    }

    /// logind's `CanReboot` for Zincati's stand-in user: `yes` when nothing stands in the way.
    static func canRebootAsZincati() async -> String {
        let out = (try? await NodeGuest.run(["busctl", "call"] + login1 + ["CanReboot"], user: "nobody"))?.stdout ?? ""
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func updateRebootsAreBlockedWhileOnProbationOrFailingAndFreeOnceGood() async throws {
        try await NodeGuest.reset()
        await #expect(Self.canRebootAsZincati() == "s \"yes\"", "Zincati's stand-in must be allowed to reboot a good node")
        let seen0 = await Self.inhibitors()
        #expect(!seen0.contains("rearguard"), "a good node inhibits nothing:\n\(seen0)")

        // A new release on probation, with a soak long enough to look at it.
        try NodeGuest.write("/etc/rearguard/config.d/95-test-inhibit.toml", "[assessment]\nsoak = \"40s\"\n")
        try await NodeGuest.deploy(Self.next)
        try await NodeGuest.reboot()
        try await NodeGuest.waitState("probation")
        do {
            let ok = await waitUntil(20) { await Self.inhibitors().contains("rearguard") }
            let seen0 = await Self.inhibitors()
            #expect(ok, "no inhibitor:\n\(seen0)")
        }
        let list = await Self.inhibitors()
        #expect(list.contains("shutdown") && list.contains("block") && list.contains("probation of \(Self.next)"), "\(list)")
        await #expect(NodeGuest.status()?["updates_inhibited"] as? String != nil)

        // Zincati's reboot, from an unprivileged caller: refused, and the node stays up.
        let boots = NodeGuest.boots().count
        await #expect(Self.canRebootAsZincati() != "s \"yes\"")
        let refused = try await NodeGuest.run(["systemctl", "reboot"], user: "nobody")
        #expect(refused.status != 0, "an update reboot went through during probation")
        try await Task.sleep(for: .seconds(2))
        #expect(NodeGuest.boots().count == boots)

        // Good after the soak: the inhibitor goes, and the same caller may reboot again.
        try await NodeGuest.waitState("good", within: 90)
        do {
            let ok = await waitUntil(10) { await !Self.inhibitors().contains("rearguard") }
            let seen0 = await Self.inhibitors()
            #expect(ok, "\(seen0)")
        }
        await #expect(Self.canRebootAsZincati() == "s \"yes\"")

        // A required check failing on the known-good boot blocks update reboots until it passes again.
        try NodeGuest.write("/etc/dnsmasq.d/site.conf", try NodeGuest.brokenDNSConfig())
        try await NodeGuest.check(["systemctl", "restart", "dnsmasq.service"])
        do {
            let ok = await waitUntil(60) { await Self.inhibitors().contains("failing on known-good") }
            let seen0 = await Self.inhibitors()
            #expect(ok, "\(seen0)")
        }
        await #expect(Self.canRebootAsZincati() != "s \"yes\"")
        await #expect(NodeGuest.state() == "good", "never blamed on the OS once known good")
        try NodeGuest.restoreShipped("quadlet/site/dnsmasq.conf", at: "/etc/dnsmasq.d/site.conf")
        try await NodeGuest.check(["systemctl", "restart", "dnsmasq.service"])
        do {
            let ok = await waitUntil(60) { await !Self.inhibitors().contains("rearguard") }
            let seen0 = await Self.inhibitors()
            #expect(ok, "\(seen0)")
        }
        await #expect(Self.canRebootAsZincati() == "s \"yes\"")
        #expect(NodeGuest.boots().count == boots + 0, "nothing rebooted the node")
    }
}
