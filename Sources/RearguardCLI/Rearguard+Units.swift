import ArgumentParser
import DBus
import FoundationEssentials
import Glibc
import Logging
import RearguardAPI
import RearguardCore
import Systemd
import Posix

extension Rearguard {
    /// `rearguard units NAME... [--json] [--watch]`: unit state straight from systemd over sd-bus.
    struct Units: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the state of systemd units, or watch it change.",
            discussion: """
                Reads the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured). Exit 0 when the bus answered, \
                whatever the units' states; 1 on a bus error.
                """)

        @Argument(help: "Unit names, e.g. dnsmasq.service.")
        var names: [String] = []

        @Flag(help: "Print JSON (with --watch: one unit object per line).")
        var json = false

        @Flag(help: "Print one line per change until interrupted.")
        var watch = false

        func validate() throws {
            if names.isEmpty { throw ValidationError("name at least one unit") }
        }

        func run() async throws {
            let logger = Logger(label: "rearguard.units")
            if watch {
                try await runWatch(logger: logger)
                return
            }
            let bus = Bus(logger: logger)
            var states: [UnitState] = []
            do {
                for name in names { states.append(try await bus.unitStatus(name).unitState) }
            } catch {
                Self.fail(error, address: bus.displayAddress)
            }
            if json {
                print(try RearguardJSON.string(UnitsReport(units: states), pretty: true))
            } else {
                for state in states { print(Self.line(state)) }
            }
        }

        private func runWatch(logger: Logger) async throws {
            let address = SystemBus.defaultAddress
            let encoder = RearguardJSON.encoder(pretty: false)
            do {
                var hasConnected = false
                for try await event in UnitWatch.events(units: names, logger: logger) {
                    switch event {
                    case .connected: hasConnected = true
                    // Unreachable from the start is an error; lost later (a reboot) is waited out.
                    case .disconnected(let reason) where !hasConnected:
                        Self.fail(reason, address: address)
                    default: break
                    }
                    guard case .state(let status) = event else { continue }
                    // One write per line, unbuffered, so a pipe sees each change at once.
                    let line = json ? String(decoding: try encoder.encode(UnitJSON(state: status.unitState)), as: UTF8.self) : Self.line(status.unitState)
                    FileIO.write((line + "\n"), to: STDOUT_FILENO)
                }
            } catch let error as BusError {
                Self.fail(error, address: address)
            }
        }

        static func fail(_ error: Any, address: String) -> Never {
            FileIO.write("rearguard units: bus \(address): \(error)\n")
            Glibc.exit(1)
        }

        /// One human-readable line per unit.
        static func line(_ s: UnitState) -> String {
            let changed = s.changedAt.map { $0.formatted(Date.ISO8601FormatStyle()) } ?? "-"
            let result = s.result.isEmpty ? "-" : s.result
            let invocation = s.invocationID.isEmpty ? "-" : s.invocationID
            return "\(s.unit) load=\(s.loadState) active=\(s.activeState) sub=\(s.subState) result=\(result) "
                + "restarts=\(s.nRestarts) invocation=\(invocation) changed=\(changed)"
        }
    }
}

/// The `units --json` document.
struct UnitsReport: Encodable {
    var schemaVersion = RearguardJSON.schemaVersion
    var units: [UnitJSON]

    init(units: [UnitState]) { self.units = units.map(UnitJSON.init) }
}

/// One unit in JSON: every key always present (`changed_at` is null when systemd reports 0).
struct UnitJSON: Encodable {
    let state: UnitState

    private enum CodingKeys: String, CodingKey {
        case unit, loadState, activeState, subState, result, nRestarts, invocationID, changedAt
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state.unit, forKey: .unit)
        try c.encode(state.loadState, forKey: .loadState)
        try c.encode(state.activeState, forKey: .activeState)
        try c.encode(state.subState, forKey: .subState)
        try c.encode(state.result, forKey: .result)
        try c.encode(state.nRestarts, forKey: .nRestarts)
        try c.encode(state.invocationID, forKey: .invocationID)
        try c.encode(state.changedAt, forKey: .changedAt)
    }
}
