import DBus

extension Bus {
    /// The state of one unit (`LoadUnit` + `GetAll`); an unknown unit has load state `not-found`.
    public func unitStatus(_ name: String) throws(BusError) -> UnitStatus {
        let timeout = callTimeout
        return try withConnection { c throws(BusError) in try c.unitStatus(name, timeout: timeout) }
    }

    /// `Manager.SystemState`: `running`, `degraded`, `starting`, `stopping`, ...
    public func systemState() throws(BusError) -> String {
        let timeout = callTimeout
        return try withConnection { c throws(BusError) in
            try c.stringProperty(Systemd1.service, Systemd1.path, Systemd1.manager, "SystemState", timeout: timeout)
        }
    }

    /// `Manager.StartUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func startUnit(_ name: String, mode: String = "replace") throws(BusError) -> String {
        try managerJob("StartUnit", [.string(name), .string(mode)])
    }

    /// `Manager.StopUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func stopUnit(_ name: String, mode: String = "replace") throws(BusError) -> String {
        try managerJob("StopUnit", [.string(name), .string(mode)])
    }

    /// `Manager.RestartUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func restartUnit(_ name: String, mode: String = "replace") throws(BusError) -> String {
        try managerJob("RestartUnit", [.string(name), .string(mode)])
    }

    /// `Manager.KillUnit(name, whom, signal)`, e.g. whom `main` and `SIGKILL`.
    public func killUnit(_ name: String, whom: String = "main", signal: Int32) throws(BusError) {
        let timeout = callTimeout
        _ = try withConnection { c throws(BusError) in
            try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, "KillUnit", [.string(name), .string(whom), .int32(signal)], timeout: timeout)
        }
    }

    /// `Manager.ResetFailedUnit(name)`.
    public func resetFailedUnit(_ name: String) throws(BusError) {
        let timeout = callTimeout
        _ = try withConnection { c throws(BusError) in
            try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, "ResetFailedUnit", [.string(name)], timeout: timeout)
        }
    }

    private func managerJob(_ member: String, _ arguments: [BusArgument]) throws(BusError) -> String {
        let timeout = callTimeout
        return try withConnection { c throws(BusError) in
            let reply = try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, member, arguments, timeout: timeout)
            return try BusReader(m: reply.pointer).string(Sig.objectPath)
        }
    }
}
