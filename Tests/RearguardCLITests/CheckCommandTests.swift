import Foundation
import Testing
import TestSupport
@testable import RearguardCLI
import RearguardAPI
import RearguardCore

/// Two network namespaces joined by a veth pair, with dnsmasq serving DHCP on the server side.
final class DHCPNamespaces {
    let tag = String(UUID().uuidString.prefix(6)).lowercased()
    var server: String { "rgck-s-\(tag)" }
    var client: String { "rgck-c-\(tag)" }
    var serverIf: String { "rgs\(tag)" }
    var clientIf: String { "rgc\(tag)" }
    let ip: String
    let dir = scratchDir("dhcp")
    var daemon: ServerProcess?

    init() async throws {
        ip = try requireTool("ip", package: "iproute2")
        try await sh([ip, "netns", "add", server])
        try await sh([ip, "netns", "add", client])
        try await sh([ip, "link", "add", serverIf, "netns", server, "type", "veth", "peer", "name", clientIf, "netns", client])
        try await sh([ip, "-n", server, "addr", "add", "10.213.77.1/24", "dev", serverIf])
        for (ns, dev) in [(server, serverIf), (client, clientIf)] {
            try await sh([ip, "-n", ns, "link", "set", "lo", "up"])
            try await sh([ip, "-n", ns, "link", "set", dev, "up"])
        }
    }

    func startKea() throws {
        let bin = try requireTool("kea-dhcp4", package: "kea-dhcp4-server")
        let env = try requireTool("env", package: "coreutils")
        let config = """
            { "Dhcp4": {
                "interfaces-config": { "interfaces": [ "\(serverIf)" ] },
                "lease-database": { "type": "memfile", "persist": false },
                "valid-lifetime": 600,
                "subnet4": [ { "id": 1, "subnet": "10.213.77.0/24",
                    "pools": [ { "pool": "10.213.77.100 - 10.213.77.150" } ] } ],
                "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "stdout" } ] } ]
            } }
            """
        try config.write(toFile: dir + "/kea.json", atomically: true, encoding: .utf8)
        daemon = try ServerProcess([
            env, "KEA_LOCKFILE_DIR=\(dir)", "KEA_PIDFILE_DIR=\(dir)", ip, "netns", "exec", server, bin, "-c", dir + "/kea.json",
        ], log: dir + "/kea.log")
    }

    func startDnsmasq() throws {
        let bin = try requireTool("dnsmasq", package: "dnsmasq")
        daemon = try ServerProcess([
            ip, "netns", "exec", server, bin, "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--no-resolv",
            "--interface=\(serverIf)", "--bind-interfaces", "--dhcp-range=10.213.77.100,10.213.77.150,255.255.255.0,10m",
            "--dhcp-leasefile=\(dir)/leases", "--no-ping", "--pid-file=", "--user=root", "--dhcp-authoritative",
        ], log: dir + "/dnsmasq.log")
    }

    deinit {
        daemon?.stop()
        Shell.cleanup([ip, "netns", "del", server])
        Shell.cleanup([ip, "netns", "del", client])
    }

    /// Runs `rearguard check --json` inside `namespace` with one dhcp check and returns its result.
    func check(in namespace: String, interface: String, mode: String, expectServer: String, timeout: String = "2s") async throws -> CheckResult {
        let config = scratchDir("dhcp-config")
        try """
            [[check]]
            name = "dhcp"
            kind = "dhcp"
            interface = "\(interface)"
            mode = "\(mode)"
            expect_server = "\(expectServer)"
            timeout = "\(timeout)"
            """.write(toFile: config + "/10-dhcp.toml", atomically: true, encoding: .utf8)
        let run = try await sh([ip, "netns", "exec", namespace, try Shell.rearguardBinary(), "check", "--json", "--config-dir", config], check: false)
        let json = run.out.drop { $0 != "{" }
        let report = try RearguardJSON.decoder().decode(CheckReport.self, from: Data(json.utf8))
        return try #require(report.results.first)
    }
}

@Suite(.serialized) struct DHCPCheckTests {
    @Test func discoverFromAClientNamespaceGetsAnOfferFromTheExpectedServer() async throws {
        let net = try await DHCPNamespaces()
        try net.startDnsmasq()
        var r = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.1")
        for _ in 0..<10 where r.status != .pass {  // dnsmasq needs a moment to start
            try await Task.sleep(for: .milliseconds(200))
            r = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.1")
        }
        #expect(r.status == .pass, "\(r.message) / \(net.daemon?.output ?? "")")
        #expect(r.message.hasPrefix("offer 10.213.77.1") && r.message.hasSuffix("from 10.213.77.1"), "\(r.message)")
    }

    @Test func informFromAnAddressedClientGetsAnAck() async throws {
        let net = try await DHCPNamespaces()
        try net.startDnsmasq()
        try await sh([net.ip, "-n", net.client, "addr", "add", "10.213.77.50/24", "dev", net.clientIf])
        try await Task.sleep(for: .milliseconds(500))
        let r = try await net.check(in: net.client, interface: net.clientIf, mode: "inform", expectServer: "10.213.77.1")
        #expect(r.status == .pass && r.message == "ack from 10.213.77.1", "\(r.message)")
    }

    @Test func checksFromTheServersOwnNamespaceWorkWithDnsmasq() async throws {
        let net = try await DHCPNamespaces()
        try net.startDnsmasq()
        try await Task.sleep(for: .milliseconds(500))
        let inform = try await net.check(in: net.server, interface: net.serverIf, mode: "inform", expectServer: "10.213.77.1")
        #expect(inform.status == .pass, "inform: \(inform.message)")
        let discover = try await net.check(in: net.server, interface: net.serverIf, mode: "discover", expectServer: "10.213.77.1")
        #expect(discover.status == .pass, "discover: \(discover.message)")
    }

    @Test func anotherServerOrNoServerFailsAtTheDeadline() async throws {
        let net = try await DHCPNamespaces()
        try net.startDnsmasq()
        try await Task.sleep(for: .milliseconds(500))
        let wrong = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.9", timeout: "1s")
        #expect(wrong.status == .fail && wrong.message == "timeout: no reply from 10.213.77.9", "\(wrong.message)")
        net.daemon?.stop()
        let stopped = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.1", timeout: "1s")
        #expect(stopped.status == .fail && stopped.message.hasPrefix("timeout"), "\(stopped.message)")
        #expect(stopped.latencyMs < 1500)
    }
}

@Suite(.serialized) struct KeaDHCPCheckTests {
    @Test func keaAnswersAClientNamespaceButNotACheckFromItsOwnNamespace() async throws {
        let net = try await DHCPNamespaces()
        try net.startKea()
        var r = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.1")
        for _ in 0..<10 where r.status != .pass {
            try await Task.sleep(for: .milliseconds(300))
            r = try await net.check(in: net.client, interface: net.clientIf, mode: "discover", expectServer: "10.213.77.1")
        }
        #expect(r.status == .pass, "\(r.message) / \(net.daemon?.output ?? "")")
        // kea's raw sockets only see packets that arrive on the wire (testenv README, 1.9).
        let colocated = try await net.check(in: net.server, interface: net.serverIf, mode: "inform", expectServer: "10.213.77.1", timeout: "1s")
        #expect(colocated.status == .fail && colocated.message.hasPrefix("timeout"), "\(colocated.message)")
    }
}

@Suite struct CLICommandTests {
    func write(_ text: String) throws -> String {
        let dir = scratchDir("cli")
        try text.write(toFile: dir + "/10.toml", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func checkParsesRepeatedConfigDirsAndJSON() throws {
        let parsed = try Rearguard.parseAsRoot(["check", "--config-dir", "/a", "--config-dir", "/b", "--json"])
        let check = try #require(parsed as? Rearguard.Check)
        #expect(check.config.configDirs == ["/a", "/b"] && check.json)
    }

    @Test func checkExitsOneWhenARequiredCheckFailsAndZeroWhenOnlyAnOptionalOneDoes() async throws {
        let bin = try Shell.rearguardBinary()
        let failing = try write("[[check]]\nname = \"f\"\nkind = \"command\"\ncommand = [\"/bin/false\"]\n")
        await #expect(try sh([bin, "check", "--config-dir", failing], check: false).status == 1)
        let optional = try write("[[check]]\nname = \"f\"\nkind = \"command\"\ncommand = [\"/bin/false\"]\nrequired = false\n")
        let run = try await sh([bin, "check", "--config-dir", optional], check: false)
        #expect(run.status == 0)
        #expect(run.out.contains("f     command  no        fail"), "\(run.out)")
    }

    @Test func checkPrintsTheJSONSchema() async throws {
        let dir = try write("[[check]]\nname = \"t\"\nkind = \"command\"\ncommand = [\"/bin/true\"]\n")
        let run = try await sh([try Shell.rearguardBinary(), "check", "--json", "--config-dir", dir])
        let object = try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any]
        #expect(object?["schema_version"] as? Int == 1)
        let first = (object?["results"] as? [[String: Any]])?.first
        #expect(Set(first?.keys.map { $0 } ?? []) == ["name", "kind", "required", "status", "latency_ms", "message", "observed_at"])
    }

    @Test func configValidatePrintsTheEffectiveConfig() async throws {
        let dir = try write("[assessment]\nsoak = \"20m\"\n")
        let run = try await sh([try Shell.rearguardBinary(), "config", "validate", "--config-dir", dir])
        #expect(run.out.contains("[assessment]\nmode = \"enforce\"\nsoak = \"20m\""))
        #expect(run.out.contains("zincati_config_dir = \"/run/host/zincati/config.d\""))
    }

    @Test func configValidateNamesFileAndKeyAndExitsOne() async throws {
        let dir = try write("[assessment]\nsoke = \"20m\"\n")
        let run = try await sh([try Shell.rearguardBinary(), "config", "validate", "--config-dir", dir], check: false)
        #expect(run.status == 1)
        #expect(run.out.contains("\(dir)/10.toml: assessment.soke: unknown key (unknown-key)"), "\(run.out)")
    }
}
