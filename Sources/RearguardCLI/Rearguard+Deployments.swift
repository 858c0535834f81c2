import ArgumentParser
import FoundationEssentials
import RearguardAPI
import RearguardCore
import RearguardDaemon

extension Rearguard {
    /// `rearguard deployments`: the OS deployments in boot order with their roles, read through libostree.
    struct Deployments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the OS deployments (booted, pending, rollback, staged) read through libostree.")

        @Option(help: "The OSTree sysroot (default: /sysroot when /sysroot/boot/loader exists, else /).")
        var sysroot: String?

        @Option(help: "The file holding the kernel command line, whose ostree= names the booted deployment.")
        var cmdline = "/proc/cmdline"

        @Option(help: "The host's /run, where libostree records a staged deployment.")
        var run = "/run"

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let source = OSTreeDeploymentSource(
                sysroot: sysroot ?? OSTreeDeploymentSource.defaultSysroot(), cmdline: cmdline, run: run)
            let snapshot: DeploymentSnapshot
            do {
                snapshot = try await source.snapshot()
            } catch {
                throw Output.failure(error)
            }
            if snapshot.bootedSource == .none {
                Output.diagnostic("no ostree= argument in \(cmdline): not an OSTree boot, no deployment is marked booted")
            }
            if json {
                print(try RearguardJSON.string(DeploymentsDocument(snapshot)))
            } else {
                print(DeploymentsRenderer.table(snapshot), terminator: "")
            }
        }
    }
}

/// Renders deployments as a compact table; the booted one is marked with `*`.
enum DeploymentsRenderer {
    static func table(_ snapshot: DeploymentSnapshot) -> String {
        var table = TextTable(header: ["", "ROLE", "OSNAME", "VERSION", "CHECKSUM", "SERIAL", "TIMESTAMP", "FLAGS", "ORIGIN"])
        for d in snapshot.deployments {
            var flags: [String] = []
            if d.isPinned { flags.append("pinned") }
            if d.isFinalizationLocked { flags.append("locked") }
            if d.unlocked != "none" { flags.append("unlocked:\(d.unlocked)") }
            table.rows.append([
                d.isBooted ? "*" : "", d.role.rawValue, d.osname, d.version ?? "-", String(d.checksum.prefix(12)),
                String(d.serial), TableDate.string(d.timestamp), flags.isEmpty ? "-" : flags.joined(separator: ","),
                d.origin ?? "-",
            ])
        }
        return table.render()
    }
}
