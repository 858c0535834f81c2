import CSystemd
import DBus

/// Names of the systemd and logind D-Bus APIs.
enum Systemd1 {
    static let service = "org.freedesktop.systemd1"
    static let path = "/org/freedesktop/systemd1"
    static let manager = "org.freedesktop.systemd1.Manager"
    static let unit = "org.freedesktop.systemd1.Unit"
    static let login1 = "org.freedesktop.login1"
    static let login1Path = "/org/freedesktop/login1"
    static let login1Manager = "org.freedesktop.login1.Manager"
}

extension BusConnection {
    /// `Manager.LoadUnit(s) -> o`: loads the unit if needed, so unknown units come back as `not-found`.
    func loadUnit(_ name: String, timeout: Duration) throws(BusError) -> String {
        do {
            let reply = try call(Systemd1.service, Systemd1.path, Systemd1.manager, "LoadUnit", [.string(name)], timeout: timeout)
            return try BusReader(m: reply.pointer).string(Sig.objectPath)
        } catch where error.busError == "org.freedesktop.DBus.Error.InvalidArgs" {
            var e = error
            e.code = .invalidUnitName
            e.message = "invalid unit name '\(name)': \(error.message)"
            throw e
        }
    }

    /// Reads a unit's state with `Properties.GetAll` on its `Unit` and type interfaces.
    func unitStatus(_ name: String, timeout: Duration) throws(BusError) -> UnitStatus {
        let path = try loadUnit(name, timeout: timeout)
        var status = UnitStatus(unit: name, objectPath: path)
        try refresh(&status, timeout: timeout)
        return status
    }

    /// Re-reads every property of `status` from its object path.
    func refresh(_ status: inout UnitStatus, timeout: Duration) throws(BusError) {
        var interfaces = [Systemd1.unit]
        if let extra = UnitStatus.typeInterface(of: status.unit) { interfaces.append(extra) }
        for interface in interfaces {
            let reply = try call(Systemd1.service, status.objectPath, StandardInterface.properties, "GetAll", [.string(interface)], timeout: timeout)
            let r = BusReader(m: reply.pointer)
            try r.dictionary { (key, signature) throws(BusError) in try status.read(key, signature: signature, from: r) }
        }
    }

    /// `Properties.Get` of one string property.
    func stringProperty(_ service: String, _ path: String, _ interface: String, _ name: String, timeout: Duration) throws(BusError) -> String {
        let reply = try call(service, path, StandardInterface.properties, "Get", [.string(interface), .string(name)], timeout: timeout)
        let r = BusReader(m: reply.pointer)
        guard try r.enter(Sig.variant, "s") else { throw r.unexpected("empty variant") }
        return try r.string()
    }

    /// `Manager.Subscribe()`: without it systemd emits no unit signals to this connection.
    func subscribe(timeout: Duration) throws(BusError) {
        _ = try call(Systemd1.service, Systemd1.path, Systemd1.manager, "Subscribe", timeout: timeout)
    }
}
