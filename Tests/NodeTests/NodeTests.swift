import Foundation
import Testing
import TestScopes
import TestSupport

/// Rearguard as an admin deploys it: its image under the generated `rearguard.service`, the boot gate in front of a
/// Zincati stand-in, the services as Quadlets, on a real systemd with a real OSTree sysroot (see `NodeGuest`).
@Suite(.serialized, .nodeGuest(cost: 195)) struct NodeTests {
    @Test func theGeneratorMadeRearguardServiceAtBootAndItRunsTheImage() async throws {
        try await NodeGuest.reset()
        await #expect(try NodeGuest.property("rearguard.service", "SourcePath") == "/etc/containers/systemd/rearguard.container")
        await #expect(try NodeGuest.property("rearguard.service", "FragmentPath") == "/run/systemd/generator/rearguard.service")
        let exec = try await NodeGuest.property("rearguard.service", "ExecStart")
        #expect(exec.contains("/usr/bin/podman run --name rearguard ") && exec.contains("localhost/rearguard:latest run"), "\(exec)")
        await #expect(try NodeGuest.property("rearguard.service", "Type") == "notify")
        let running = try await NodeGuest.check(["podman", "ps", "--format", "{{.Names}} {{.Image}} {{.Command}}"])
        #expect(running.contains("rearguard localhost/rearguard:latest run"), "\(running)")
    }

    /// Issue 13: the shipped binary links no libcurl, GnuTLS, ICU or Foundation (FoundationEssentials and the Swift
    /// runtime are linked in), and opens libostree only when it reads a sysroot, as the running agent just did.
    @Test func theShippedBinaryLinksNoCurlGnuTLSICUOrFoundation() async throws {
        try await NodeGuest.reset()
        let needed = try await NodeGuest.check([
            "podman", "run", "--rm", "--network=none", "--entrypoint", "/usr/bin/ldd", "localhost/rearguard:latest", "/usr/bin/rearguard",
        ])
        #expect(needed.contains("libsystemd.so.0"), "ldd did not list the binary's libraries: \(needed)")
        for library in ["libcurl", "gnutls", "libicu", "Foundation", "libostree", "libxml2"] {
            #expect(!needed.contains(library), "\(library) in:\n\(needed)")
        }
        let agent = try await NodeGuest.check(["podman", "inspect", "--format", "{{.State.Pid}}", "rearguard"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let maps = try await NodeGuest.check(["cat", "/proc/\(agent)/maps"])
        #expect(maps.contains("libostree-1.so"), "the running agent reads deployments through libostree")
    }

    @Test func theUnitIsActiveOnlyAfterTheAgentsReady() async throws {
        try await NodeGuest.reset()
        // A new boot (a boot id the agent has not seen) whose command line cannot be read while it is a FIFO nobody
        // writes: the agent serves its socket but sends no READY=1, so systemd keeps the unit activating.
        try await NodeGuest.check(["sh", "-c", "mkfifo /run/rearguard/test/cmdline-fifo && "
            + "cat /proc/sys/kernel/random/uuid > /run/rearguard/test/boot_id-fifo"])
        defer { NodeGuest.remove("/etc/rearguard/config.d/95-test-fifo.toml") }
        try NodeGuest.write("/etc/rearguard/config.d/95-test-fifo.toml", """
            [host]
            cmdline = "/run/rearguard/test/cmdline-fifo"
            boot_id = "/run/rearguard/test/boot_id-fifo"
            """)
        try await NodeGuest.check(["systemctl", "--no-block", "restart", "rearguard.service"])
        let serving = await waitUntil(30) { await (try? NodeGuest.rearguard(["status", "--json"]))?.stdout.contains("\"state\"") == true }
        #expect(serving, "the agent's socket never served")
        try await Task.sleep(for: .seconds(2))
        await #expect(NodeGuest.activeState("rearguard.service") == "activating", "active before READY=1")
        // The boot loader's command line arrives: the boot is read, READY=1 goes through conmon, the unit is active.
        let cmdline = try await NodeGuest.check(["cat", "/run/rearguard/test/cmdline"])
        let writer = try await NodeGuest.run(["timeout", "10", "sh", "-c", "printf '%s' \"$0\" > /run/rearguard/test/cmdline-fifo", cmdline])
        #expect(writer.status == 0, "\(writer.stderr)")
        let active = await waitUntil(20) { await NodeGuest.activeState("rearguard.service") == "active" }
        let seen0 = await NodeGuest.activeState("rearguard.service")
        #expect(active, "the unit did not become active after READY=1: \(seen0)")
    }

    @Test func theAgentReadsTheNodesBusAndSysrootAndAnswersTheAdmin() async throws {
        try await NodeGuest.reset()
        let out = try await NodeGuest.rearguard(["status"])
        #expect(out.status == 0, "rearguard status exited \(out.status): \(out.stderr)")
        #expect(out.stdout.hasPrefix("GOOD: 42.20251110.3.0 known good"), "\(out.stdout)")
        // Rearguard's own reading of the shipped config on the node: valid. (Here, on a reset node, not beside the
        // file checks: those do not need the agent, and a suite before them may leave it stopped.)
        let validate = try await NodeGuest.rearguard(["config", "validate"])
        #expect(validate.status == 0, "rearguard config validate: \(validate.stdout)\(validate.stderr)")
        let status = try #require(await NodeGuest.status())
        // The sysroot mounted at /sysroot and /boot, the booted one from the boot loader's choice.
        let deployments = try #require(status["deployments"] as? [[String: Any]])
        #expect(deployments.map { $0["version"] as? String } == ["42.20251110.3.0", "42.20251027.3.0"])
        #expect(deployments.first?["role"] as? String == "booted")
        // The node's real systemd over its bus: the unit checks read dnsmasq.service and chrony.service.
        let checks = try #require(status["checks"] as? [[String: Any]])
        for name in ["dns", "ntp", "dnsmasq-unit", "chrony-unit"] {
            let check = checks.first { $0["name"] as? String == name }
            #expect(check?["state"] as? String == "passing", "\(name): \(String(describing: check))")
        }
        let unit = checks.first { $0["name"] as? String == "dnsmasq-unit" }
        #expect(((unit?["last"] as? [String: Any])?["message"] as? String)?.contains("active/running") == true)
    }

    @Test func bootCompleteWaitsForTheVerdictAndZincatiWaitsForIt() async throws {
        try await NodeGuest.reset()
        // A good boot: the gate opens (its own container reads the verdict), boot-complete.target, then Zincati.
        let opened = await waitUntil(30) { await NodeGuest.activeState("zincati.service") == "active" }
        #expect(await NodeGuest.activeState("boot-complete.target") == "active" && opened, "the gate did not open on a good boot")
        await #expect(try NodeGuest.check(["cat", "/run/zincati-standin-enabled"]).contains("true"))
        // A fresh node whose DNS answers wrongly: first boot, failing, never judged good.
        try NodeGuest.write("/etc/dnsmasq.d/site.conf", try NodeGuest.brokenDNSConfig())
        _ = try? await NodeGuest.run(["systemctl", "stop", "rearguard.service"])
        for name in (try? FileManager.default.contentsOfDirectory(atPath: NodeGuest.root + "/var/lib/rearguard")) ?? [] {
            NodeGuest.remove("/var/lib/rearguard/" + name)
        }
        try await NodeGuest.reboot()
        let seenFailing = await waitUntil(60) {
            ((await NodeGuest.status()?["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "dns" }?["state"] as? String) == "failing"
        }
        #expect(seenFailing, "the dns check never failed")
        await #expect(NodeGuest.state() == "first-boot")
        await #expect(NodeGuest.activeState("rearguard-verdict.service") == "activating")
        await #expect(NodeGuest.activeState("boot-complete.target") == "inactive")
        await #expect(NodeGuest.activeState("zincati.service") == "inactive", "Zincati started before the boot was proven")
        // DNS mended: the soak passes, the gate opens, boot-complete.target is reached and Zincati starts.
        try NodeGuest.restoreShipped("quadlet/site/dnsmasq.conf", at: "/etc/dnsmasq.d/site.conf")
        try await NodeGuest.check(["systemctl", "restart", "dnsmasq.service"])
        try await NodeGuest.waitState("good", within: 60)
        let reached = await waitUntil(30) { await NodeGuest.activeState("boot-complete.target") == "active" }
        #expect(reached, "boot-complete.target not reached after the boot was judged good")
        // Zincati's stand-in is a oneshot: it is "activating" until it has written its answer.
        #expect(await waitUntil(30) { await NodeGuest.activeState("zincati.service") == "active" }, "Zincati did not start")
        await #expect(try NodeGuest.property("rearguard-verdict.service", "Result") == "success")
    }

    @Test func anAgentKilledWithSIGKILLIsRestartedAndAnswersAgain() async throws {
        try await NodeGuest.reset()
        let before = try #require(await NodeGuest.agentPID(), "no agent running")
        let restarts = try await NodeGuest.property("rearguard.service", "NRestarts")
        try await NodeGuest.check(["sh", "-c", "kill -KILL " + before])
        let back = await waitUntil(60) {
            guard let now = await NodeGuest.agentPID() else { return false }
            guard now != before else { return false }
            return await NodeGuest.activeState("rearguard.service") == "active"
        }
        #expect(back, "the agent was not restarted")
        await #expect(try NodeGuest.property("rearguard.service", "NRestarts") != restarts)
        try await NodeGuest.waitState("good", within: 30)
        // The gate of this boot stays passed: the restart did not fail boot-complete.target.
        await #expect(NodeGuest.activeState("boot-complete.target") == "active")
    }

    @Test func anAgentThatStopsPingingIsRestartedByTheWatchdog() async throws {
        try await NodeGuest.reset()
        let pid = try #require(await NodeGuest.agentPID(), "no agent running")
        try await NodeGuest.check(["sh", "-c", "kill -STOP " + pid])
        // WatchdogSec=6s on the test node (scripts/testenv/configure-node.sh), then RestartSec=5s.
        let back = await waitUntil(60) {
            guard let now = await NodeGuest.agentPID() else { return false }
            guard now != pid else { return false }
            return await NodeGuest.activeState("rearguard.service") == "active"
        }
        #expect(back, "the stopped agent was not restarted")
        await #expect(try NodeGuest.journal("rearguard.service").contains("Watchdog timeout"))
        try await NodeGuest.waitState("good", within: 30)
    }

    @Test func aMissingImageConfigOrBusFailsTheUnitByNameAndTheAdminIsToldWhy() async throws {
        try await NodeGuest.reset()
        let stateBefore = try String(contentsOfFile: NodeGuest.root + "/var/lib/rearguard/state.json", encoding: .utf8)
        var mended = false
        defer {
            // Only when a case failed before it mended what it broke (a reload blocks this thread).
            if !mended {
                NodeGuest.remove("/etc/containers/systemd/rearguard.container.d/95-test-image.conf")
                NodeGuest.cleanup(["sh", "-c", "[ -d /etc/rearguard.away ] && mv /etc/rearguard.away /etc/rearguard; "
                    + "[ -S /run/dbus/away.sock ] && mv /run/dbus/away.sock /run/dbus/system_bus_socket; systemctl daemon-reload"])
            }
        }
        // What each breakage is, how it is undone, and what the journal must name.
        let cases: [(name: String, breaks: [String], mends: [String], names: String)] = [
            ("image", ["sh", "-c", "printf '[Container]\\nImage=localhost/rearguard:missing\\n' > /etc/containers/systemd/rearguard.container.d/95-test-image.conf && systemctl daemon-reload"],
             ["sh", "-c", "rm /etc/containers/systemd/rearguard.container.d/95-test-image.conf && systemctl daemon-reload"],
             "localhost/rearguard:missing: image not known"),
            ("config", ["mv", "/etc/rearguard", "/etc/rearguard.away"], ["mv", "/etc/rearguard.away", "/etc/rearguard"], "missing /etc/rearguard"),
            ("bus", ["mv", "/run/dbus/system_bus_socket", "/run/dbus/away.sock"], ["mv", "/run/dbus/away.sock", "/run/dbus/system_bus_socket"],
             "missing the system bus socket /run/dbus/system_bus_socket"),
        ]
        for item in cases {
            try await NodeGuest.check(["systemctl", "stop", "rearguard.service"])
            let since = try await NodeGuest.check(["date", "+@%s"]).trimmingCharacters(in: .whitespacesAndNewlines)
            try await NodeGuest.check(item.breaks)
            _ = try await NodeGuest.run(["systemctl", "--no-block", "start", "rearguard.service"])
            // It fails, and systemd keeps trying (Restart=on-failure): never active, whatever moment we look.
            let failed = await waitUntil(30) { await (try? NodeGuest.property("rearguard.service", "NRestarts")).map { $0 != "0" } ?? false }
            #expect(failed, "\(item.name): the unit did not fail and retry")
            await #expect(NodeGuest.activeState("rearguard.service") != "active", "\(item.name): the unit is active")
            let journal = try await NodeGuest.check(["journalctl", "--no-pager", "-o", "cat", "-u", "rearguard.service", "--since", since])
            #expect(journal.contains(item.names), "\(item.name): the journal does not name \(item.names):\n\(journal.suffix(1500))")
            let asked = try await NodeGuest.rearguard(["status"])
            #expect(asked.status == 69, "\(item.name): rearguard status exited \(asked.status)")
            #expect(asked.stderr.contains("cannot reach the agent") && asked.stderr.contains(item.names),
                "\(item.name): rearguard status said: \(asked.stderr)")
            // Stopped before it is mended, so that no retry starts the agent in between.
            try await NodeGuest.check(["systemctl", "stop", "rearguard.service"])
            try await NodeGuest.check(item.mends)
        }
        mended = true
        // The agent never acted: its memory is what it was.
        let stateAfter = try String(contentsOfFile: NodeGuest.root + "/var/lib/rearguard/state.json", encoding: .utf8)
        #expect(stateAfter == stateBefore)
        try await NodeGuest.check(["systemctl", "start", "rearguard.service"])
        try await NodeGuest.waitState("good", within: 60)
    }
}
