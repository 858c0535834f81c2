import Foundation
import Testing
@testable import RearguardCore

@Suite struct ConfigLoaderTests {
    let dnsCheck = """
        [[check]]
        name = "dns-local"
        kind = "dns"
        server = "127.0.0.1"
        query = "gw.agenttest.lan"
        """

    @Test func noFilesGiveTheBuiltInDefaultsWhichCheckNothing() throws {
        let fx = ConfigFixture()
        let s = try ConfigLoader.load(directories: [fx.dir("usr"), fx.root + "/missing"])
        #expect(s == Settings())
        #expect(s.checks.isEmpty)
        #expect(s.host.zincatiConfigDir == "/run/host/zincati/config.d")
        #expect(s.assessment.mode == .enforce && s.assessment.soak == .seconds(600) && s.assessment.maxRebootsPerDay == 1)
        #expect(s.rollback.driver == .rpmOstree && s.rollback.transactionTimeout == .seconds(600))
        #expect(s.api.socket == "/run/rearguard/rearguard.sock" && s.api.group == nil && s.daemon.watchdog == nil)
        #expect(!s.greenboot.enabled)
    }

    @Test func checkDefaultsApply() throws {
        let fx = ConfigFixture()
        fx.write("etc", "10-dns.toml", dnsCheck)
        let s = try ConfigLoader.load(directories: [fx.dir("etc")])
        let c = try #require(s.checks.first)
        #expect(c.name == "dns-local" && c.required && c.timeout == .seconds(2) && c.interval == .seconds(10))
        #expect(c.startPeriod == .zero && c.failureThreshold == 3 && c.successThreshold == 1 && c.restartUnit == nil)
        #expect(c.target == .dns(DNSTarget(
            server: HostPort(host: "127.0.0.1", port: 53), query: "gw.agenttest.lan", type: "A", expectRcode: "NOERROR",
            expectAnswers: nil)))
    }

    @Test func laterFileNameWinsPerKeyAcrossFolders() throws {
        let fx = ConfigFixture()
        fx.write("usr", "10-base.toml", "[assessment]\nsoak = \"5m\"\nmode = \"observe\"\n")
        fx.write("etc", "20-site.toml", "[assessment]\nsoak = \"20m\"\n")
        fx.write("usr", "30-vendor.toml", "[assessment]\nmax_reboots_per_day = 3\n")
        let s = try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc"), fx.dir("run")])
        #expect(s.assessment.soak == .seconds(1200))
        #expect(s.assessment.mode == .observe)
        #expect(s.assessment.maxRebootsPerDay == 3)
    }

    @Test func sameFileNameInALaterFolderReplacesTheEarlierFileEntirely() throws {
        let fx = ConfigFixture()
        fx.write("usr", "50-x.toml", "[assessment]\nsoak = \"5m\"\nmode = \"observe\"\n")
        fx.write("etc", "50-x.toml", "[assessment]\nsoak = \"7m\"\n")
        let s = try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc")])
        #expect(s.assessment.soak == .seconds(420))
        #expect(s.assessment.mode == .enforce)  // the /usr file's mode is never read
    }

    @Test func aSymlinkToDevNullMasksTheFile() throws {
        let fx = ConfigFixture()
        fx.write("usr", "10-dns.toml", dnsCheck)
        fx.link("etc", "10-dns.toml", to: "/dev/null")
        let s = try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc")])
        #expect(s.checks.isEmpty)
    }

    @Test func onlyTomlFilesAreRead() throws {
        let fx = ConfigFixture()
        fx.write("etc", "10-dns.toml.bak", "this is not toml")
        fx.write("etc", "README", "nor this")
        #expect(try ConfigLoader.load(directories: [fx.dir("etc")]) == Settings())
    }

    @Test func checksAccumulateByNameAndALaterSameNameReplacesTheWholeCheck() throws {
        let fx = ConfigFixture()
        fx.write("usr", "10-a.toml", dnsCheck + "\ntimeout = \"1s\"\n\n[[check]]\nname = \"port\"\nkind = \"tcp\"\naddress = \"127.0.0.1:22\"\n")
        fx.write("etc", "20-b.toml", "[[check]]\nname = \"dns-local\"\nkind = \"tcp\"\naddress = \"127.0.0.1:53\"\n")
        let s = try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc")])
        #expect(s.checks.map(\.name) == ["dns-local", "port"])
        #expect(s.checks[0].target == .tcp(address: HostPort(host: "127.0.0.1", port: 53)))
        #expect(s.checks[0].timeout == .seconds(2))  // not merged from the replaced check
    }

    @Test func zincatiConfigDirFollowsHostRun() throws {
        let fx = ConfigFixture()
        fx.write("etc", "10.toml", "[host]\nhost_run = \"/run/hostrun\"\n")
        #expect(try ConfigLoader.load(directories: [fx.dir("etc")]).host.zincatiConfigDir == "/run/hostrun/zincati/config.d")
    }

    @Test func everySectionAndKindIsAccepted() throws {
        let fx = ConfigFixture()
        fx.write("etc", "10-all.toml", """
            [host]
            sysroot = "/sysroot"
            cmdline = "/proc/cmdline"
            boot_id = "/proc/sys/kernel/random/boot_id"
            state_dir = "/var/lib/rearguard"
            host_run = "/run/host"
            zincati_config_dir = "/run/host/zincati/config.d"
            bus = "unix:path=/run/dbus/system_bus_socket"
            [assessment]
            mode = "observe"
            soak = "10m"
            max_reboots_per_day = 1
            inhibit_while_failing = false
            [rollback]
            driver = "ostree"
            transaction_timeout = "10m"
            [api]
            socket = "/run/rearguard/rearguard.sock"
            group = "wheel"
            [daemon]
            watchdog = "30s"
            [greenboot]
            enabled = true
            [[check]]
            name = "dns"
            kind = "dns"
            server = "[::1]:5353"
            query = "gw.agenttest.lan"
            type = "aaaa"
            expect_rcode = "NXDOMAIN"
            expect_answers = ["::1"]
            required = false
            timeout = "500ms"
            interval = "1m"
            start_period = "30s"
            failure_threshold = 5
            success_threshold = 2
            restart_unit = "dnsmasq.service"
            [[check]]
            name = "ntp"
            kind = "ntp"
            server = "127.0.0.1"
            max_stratum = 10
            max_offset = "100ms"
            [[check]]
            name = "dhcp"
            kind = "dhcp"
            interface = "srv0"
            mode = "inform"
            expect_server = "10.213.0.1"
            [[check]]
            name = "tcp"
            kind = "tcp"
            address = "localhost:22"
            [[check]]
            name = "http"
            kind = "http"
            url = "http://127.0.0.1:8080/health"
            expect_status = 204
            expect_body = "ok"
            [[check]]
            name = "unit"
            kind = "unit"
            unit = "dnsmasq.service"
            [[check]]
            name = "cmd"
            kind = "command"
            command = ["/bin/true", "x"]
            """)
        let s = try ConfigLoader.load(directories: [fx.dir("etc")])
        #expect(s.checks.map(\.kind) == [.dns, .ntp, .dhcp, .tcp, .http, .unit, .command])
        #expect(s.daemon.watchdog == .seconds(30) && s.api.group == "wheel" && s.greenboot.enabled && s.rollback.driver == .ostree)
        #expect(!s.assessment.inhibitWhileFailing && Settings().assessment.inhibitWhileFailing, "on by default, off when set")
        #expect(s.checks[0].timeout == .milliseconds(500) && !s.checks[0].required && s.checks[0].restartUnit == "dnsmasq.service")
        #expect(s.checks[1].target == .ntp(NTPTarget(server: HostPort(host: "127.0.0.1", port: 123), maxStratum: 10, maxOffset: .milliseconds(100))))
        // What validate prints reads back to the same settings.
        fx.write("again", "00.toml", s.renderTOML())
        #expect(try ConfigLoader.load(directories: [fx.dir("again")]) == s)
    }

    // MARK: every error kind names file and key

    func issues(_ text: String, file: String = "10.toml") throws -> [ConfigIssue] {
        let fx = ConfigFixture()
        fx.write("etc", file, text)
        do {
            _ = try ConfigLoader.load(directories: [fx.dir("etc")])
        } catch {
            return error.issues
        }
        Issue.record("config was accepted")
        return []
    }

    @Test func syntaxErrorsNameTheFileAndLine() throws {
        let i = try #require(try issues("[assessment]\nsoak = \n").first)
        #expect(i.code == .syntax && i.file.hasSuffix("/etc/10.toml") && i.line == 2)
    }

    @Test func unknownKeysAnywhereAreErrors() throws {
        let found = try issues("[assessment]\nsoke = \"1m\"\n[nope]\nx = 1\n[[check]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\nadress = \"x\"\n")
        #expect(found.map(\.key) == ["assessment.soke", "check[a].adress", "nope"])
        #expect(found.allSatisfy { $0.code == .unknownKey && $0.file.hasSuffix("10.toml") })
    }

    @Test func aKeyOfAnotherKindIsAnError() throws {
        let found = try issues("[[check]]\nname = \"a\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\nurl = \"http://x\"\n")
        #expect(found.map(\.key) == ["check[a].url"] && found[0].code == .unknownKey)
    }

    @Test func wrongTypesAreErrors() throws {
        let found = try issues("[assessment]\nmax_reboots_per_day = \"1\"\n[greenboot]\nenabled = 1\n[[check]]\nname = \"c\"\nkind = \"command\"\ncommand = \"/bin/true\"\n")
        #expect(Set(found.map(\.key)) == ["assessment.max_reboots_per_day", "greenboot.enabled", "check[c].command"])
        #expect(found.allSatisfy { $0.code == .wrongType })
    }

    @Test func invalidValuesAreErrors() throws {
        let found = try issues("""
            [host]
            sysroot = "relative"
            [assessment]
            mode = "yolo"
            soak = "10 minutes"
            [rollback]
            driver = "bootc"
            [[check]]
            name = "d"
            kind = "dns"
            server = "dns.example.com"
            query = "x"
            type = "ANY"
            [[check]]
            name = "n"
            kind = "ntp"
            server = "127.0.0.1:99999"
            max_stratum = 16
            [[check]]
            name = "t"
            kind = "tcp"
            address = "127.0.0.1"
            timeout = "0s"
            failure_threshold = 0
            [[check]]
            name = "k"
            kind = "carrier-pigeon"
            """)
        #expect(Set(found.map(\.key)) == [
            "host.sysroot", "assessment.mode", "assessment.soak", "rollback.driver", "check[d].server", "check[d].type",
            "check[n].server", "check[n].max_stratum", "check[t].address", "check[t].timeout", "check[t].failure_threshold",
            "check[k].kind",
        ])
        #expect(found.allSatisfy { $0.code == .invalidValue })
    }

    @Test func missingKeysAreErrors() throws {
        let found = try issues("[[check]]\nkind = \"dns\"\n[[check]]\nname = \"x\"\n[[check]]\nname = \"y\"\nkind = \"dhcp\"\n")
        #expect(found.map(\.key) == ["check[#1].name", "check[x].kind", "check[y].interface", "check[y].mode"])
        #expect(found.allSatisfy { $0.code == .missingKey })
    }

    @Test func duplicateNamesInOneFileAreErrors() throws {
        let found = try issues(dnsCheck + "\n" + dnsCheck)
        #expect(found.map(\.code) == [.duplicateName] && found[0].key == "check[dns-local].name")
    }

    @Test func aLaterFileIsNamedForTheValueItSet() throws {
        let fx = ConfigFixture()
        fx.write("usr", "10.toml", "[assessment]\nsoak = \"5m\"\n")
        fx.write("etc", "20.toml", "[assessment]\nsoak = \"5 min\"\n")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc")]) }
        do { _ = try ConfigLoader.load(directories: [fx.dir("usr"), fx.dir("etc")]) } catch {
            #expect(error.issues.map(\.file) == [fx.root + "/etc/20.toml"])
            #expect(error.description.contains("20.toml: assessment.soak: must be a duration"))
        }
    }

    @Test func aConfigPathThatIsAFileIsUnreadable() throws {
        let fx = ConfigFixture()
        let file = fx.write("etc", "plain", "")
        do { _ = try ConfigLoader.load(directories: [file]); Issue.record("accepted") } catch {
            #expect(error.issues.map(\.code) == [.unreadable])
        }
    }

    @Test func allIssuesAreReportedTogether() throws {
        let fx = ConfigFixture()
        fx.write("etc", "10.toml", "[assessment]\nx = 1\n")
        fx.write("etc", "20.toml", "[rollback]\ny = 1\n")
        do { _ = try ConfigLoader.load(directories: [fx.dir("etc")]); Issue.record("accepted") } catch {
            #expect(error.issues.count == 2)
        }
    }
}
