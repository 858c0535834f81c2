import ArgumentParser
import DBus
import FoundationEssentials
import Logging
import RearguardAPI
import RearguardChecks
import RearguardCore
import RearguardDaemon
import Systemd

extension Rearguard {
    /// `rearguard check`: run every configured check once, now, and report.
    public struct Check: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Run every configured check once and print the results.",
            discussion: "Thresholds do not apply to one run. Exits 1 when a required check fails, 0 otherwise.")

        @OptionGroup var config: ConfigOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Flag(help: "Log each check's outcome to stderr.")
        var verbose = false

        public init() {}

        public func run() async throws {
            let settings = try config.load(exitingWith: .failure)
            var specs = settings.checks
            if settings.greenboot.enabled { specs += Greenboot.checks() }
            // The table already shows every failure; the log says more only with --verbose.
            var logger = Logger(label: "rearguard.check")
            logger.logLevel = verbose ? .debug : .error
            // Unit checks read systemd over sd-bus (DBUS_SYSTEM_BUS_ADDRESS, else the system bus); the bus
            // connects on first use, so a config without unit checks never touches it.
            let inspector = SystemdUnitInspector(bus: Bus(logger: logger), logger: logger)
            let engine = CheckEngine(unitInspector: inspector, logger: logger)
            let results = await engine.runOnce(specs)
            print(try CheckReport(results: results).render(json: json), terminator: "")
            if results.contains(where: { $0.required && !$0.isPassing }) { throw ExitCode.failure }
        }
    }
}

/// The output of `rearguard check`: `{"schema_version": 1, "results": [...]}` or a table.
public struct CheckReport: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion = RearguardJSON.schemaVersion
    /// One result per check, in config order.
    public var results: [CheckResult]

    /// A report of `results`.
    public init(results: [CheckResult]) { self.results = results }

    /// JSON with the house conventions, or an aligned table, ending in a newline.
    public func render(json: Bool) throws -> String {
        if json { return try RearguardJSON.string(self) + "\n" }
        let header = ["NAME", "KIND", "REQUIRED", "STATUS", "LATENCY", "MESSAGE"]
        let rows = results.map { r in
            [r.name, r.kind.rawValue, r.required ? "yes" : "no", r.status.rawValue, r.latencyMs.fixed(1) + "ms",
             r.message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""]
        }
        let widths = (0..<header.count - 1).map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i < widths.count ? c.padded(to: widths[i]) : c }
                .joined(separator: "  ")
        }
        if results.isEmpty { return "no checks configured\n" }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
