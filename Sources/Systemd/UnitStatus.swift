import DBus
import FoundationEssentials

/// Everything Rearguard reads about one unit (`org.freedesktop.systemd1.Unit` and `.Service`).
public struct UnitStatus: Sendable, Equatable {
    /// The unit's name, e.g. `dnsmasq.service`.
    public var unit: String
    /// The unit's object path.
    public var objectPath: String
    /// `LoadState` (`loaded`, `not-found`, ...).
    public var loadState = ""
    /// `ActiveState` (`active`, `failed`, ...).
    public var activeState = ""
    /// `SubState` (`running`, `dead`, `auto-restart`, ...).
    public var subState = ""
    /// `Service.Result`; empty for units that are not services.
    public var result = ""
    /// `Service.NRestarts`.
    public var nRestarts: UInt32 = 0
    /// `Service.ExecMainStatus`: exit status or signal number of the main process.
    public var execMainStatus: Int32 = 0
    /// `Service.ExecMainCode`: `CLD_EXITED` (1), `CLD_KILLED` (2), ...; 0 when it never ran.
    public var execMainCode: Int32 = 0
    /// `InvocationID` as 32 lowercase hex digits; empty when the unit never ran.
    public var invocationID = ""
    /// `StateChangeTimestamp` in microseconds since the epoch (CLOCK_REALTIME); 0 when never.
    public var stateChangeTimestamp: UInt64 = 0

    /// Creates an empty status for a unit at `objectPath`.
    public init(unit: String, objectPath: String) {
        self.unit = unit
        self.objectPath = objectPath
    }

    /// `stateChangeTimestamp` as a date; nil when systemd reports 0.
    public var changedAt: Date? {
        stateChangeTimestamp == 0 ? nil : Date(timeIntervalSince1970: Double(stateChangeTimestamp) / 1_000_000)
    }

    /// The properties this type reads; others in a reply are skipped.
    static let unitProperties: Set<String> = ["LoadState", "ActiveState", "SubState", "InvocationID", "StateChangeTimestamp"]
    static let serviceProperties: Set<String> = ["Result", "NRestarts", "ExecMainStatus", "ExecMainCode"]

    /// Reads property `name` from the variant the reader is in; false when it is not one of ours.
    mutating func read(_ name: String, signature: String, from r: BusReader) throws(BusError) -> Bool {
        switch (name, signature) {
        case ("LoadState", "s"): loadState = try r.string()
        case ("ActiveState", "s"): activeState = try r.string()
        case ("SubState", "s"): subState = try r.string()
        case ("Result", "s"): result = try r.string()
        case ("NRestarts", "u"): nRestarts = try r.basic(Sig.uint32, as: UInt32.self)
        case ("ExecMainStatus", "i"): execMainStatus = try r.basic(Sig.int32, as: Int32.self)
        case ("ExecMainCode", "i"): execMainCode = try r.basic(Sig.int32, as: Int32.self)
        case ("StateChangeTimestamp", "t"): stateChangeTimestamp = try r.basic(Sig.uint64, as: UInt64.self)
        case ("InvocationID", "ay"): invocationID = Self.hex(try r.bytes())
        default: return false
        }
        return true
    }

    static func hex(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ $0 == 0 }) { return "" }
        return bytes.map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }

    /// The D-Bus interface that carries the type-specific properties (`.Service` for `x.service`).
    static func typeInterface(of unit: String) -> String? {
        unit.hasSuffix(".service") ? "org.freedesktop.systemd1.Service" : nil
    }
}
