import CSystemd
import Logging

/// A connection to the system bus that runs every (blocking) sd-bus call on its own thread.
///
/// Calls reconnect when the bus went away; while it stays away, connection attempts are spaced
/// out with exponential backoff, and the loss and the return are logged once each.
public actor Bus {
    /// The address given at init; nil means the system bus (`DBUS_SYSTEM_BUS_ADDRESS` honoured).
    public nonisolated let address: String?
    /// The timeout of every call unless a method says otherwise.
    public nonisolated let callTimeout: Duration
    let logger: Logger
    private let executor: BusThreadExecutor
    private var connection: BusConnection?
    private var backoff: Backoff
    private var isLost = false
    private var nextAttempt: ContinuousClock.Instant?

    /// The bus thread: every sd-bus call of this actor runs there, off the cooperative pool.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Creates a bus; it connects on the first call.
    public init(address: String? = nil, callTimeout: Duration = .seconds(5), backoff: Backoff = Backoff(), logger: Logger) {
        self.address = address
        self.callTimeout = callTimeout
        self.backoff = backoff
        self.logger = logger
        self.executor = BusThreadExecutor(name: "rearguard-bus")
    }

    deinit { executor.stop() }

    /// The address shown in messages: the one given, or the system bus's.
    public nonisolated var displayAddress: String { BusConnection.describe(address) }

    /// Runs `body` with a live connection; a connection-class failure drops it so the next call reconnects.
    func withConnection<T>(_ body: (BusConnection) throws(SystemdError) -> T) throws(SystemdError) -> T {
        let c = try connected()
        do {
            return try body(c)
        } catch {
            if error.code == .disconnected || !c.isOpen { lose(error) }
            throw error
        }
    }

    private func connected() throws(SystemdError) -> BusConnection {
        if let connection, connection.isOpen { return connection }
        if connection != nil { lose(SystemdError(code: .disconnected, function: "sd_bus_is_open", message: "bus connection closed")) }
        if let nextAttempt, ContinuousClock.now < nextAttempt {
            throw SystemdError(code: .disconnected, function: "sd_bus_start", message: "bus \(displayAddress) unreachable, next attempt after backoff")
        }
        do {
            let c = try BusConnection.open(address: address)
            connection = c
            nextAttempt = nil
            backoff.reset()
            if isLost {
                isLost = false
                logger.info("bus reconnected", metadata: ["bus": "\(displayAddress)"])
            }
            return c
        } catch {
            nextAttempt = ContinuousClock.now + backoff.next()
            throw error
        }
    }

    private func lose(_ error: SystemdError) {
        connection = nil
        if !isLost {
            isLost = true
            logger.warning("bus connection lost, will reconnect", metadata: ["bus": "\(displayAddress)", "error": "\(error)"])
        }
    }

    // MARK: units

    /// The state of one unit (`LoadUnit` + `GetAll`); an unknown unit has load state `not-found`.
    public func unitStatus(_ name: String) throws(SystemdError) -> UnitStatus {
        let timeout = callTimeout
        return try withConnection { c throws(SystemdError) in try c.unitStatus(name, timeout: timeout) }
    }

    /// `Manager.SystemState`: `running`, `degraded`, `starting`, `stopping`, ...
    public func systemState() throws(SystemdError) -> String {
        let timeout = callTimeout
        return try withConnection { c throws(SystemdError) in
            try c.stringProperty(Systemd1.service, Systemd1.path, Systemd1.manager, "SystemState", timeout: timeout)
        }
    }

    /// `Manager.StartUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func startUnit(_ name: String, mode: String = "replace") throws(SystemdError) -> String {
        try managerJob("StartUnit", [.string(name), .string(mode)])
    }

    /// `Manager.StopUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func stopUnit(_ name: String, mode: String = "replace") throws(SystemdError) -> String {
        try managerJob("StopUnit", [.string(name), .string(mode)])
    }

    /// `Manager.RestartUnit(name, mode)`; returns the job's object path.
    @discardableResult
    public func restartUnit(_ name: String, mode: String = "replace") throws(SystemdError) -> String {
        try managerJob("RestartUnit", [.string(name), .string(mode)])
    }

    /// `Manager.KillUnit(name, whom, signal)`, e.g. whom `main` and `SIGKILL`.
    public func killUnit(_ name: String, whom: String = "main", signal: Int32) throws(SystemdError) {
        let timeout = callTimeout
        _ = try withConnection { c throws(SystemdError) in
            try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, "KillUnit", [.string(name), .string(whom), .int32(signal)], timeout: timeout)
        }
    }

    /// `Manager.ResetFailedUnit(name)`.
    public func resetFailedUnit(_ name: String) throws(SystemdError) {
        let timeout = callTimeout
        _ = try withConnection { c throws(SystemdError) in
            try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, "ResetFailedUnit", [.string(name)], timeout: timeout)
        }
    }

    private func managerJob(_ member: String, _ arguments: [BusArgument]) throws(SystemdError) -> String {
        let timeout = callTimeout
        return try withConnection { c throws(SystemdError) in
            let reply = try c.call(Systemd1.service, Systemd1.path, Systemd1.manager, member, arguments, timeout: timeout)
            return try BusReader(m: reply.pointer).string(Sig.objectPath)
        }
    }
}

/// Exponential backoff between reconnection attempts.
public struct Backoff: Sendable {
    /// The first delay.
    public var initial: Duration
    /// The longest delay.
    public var maximum: Duration
    private var current: Duration

    /// Creates a backoff doubling from `initial` up to `maximum`.
    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
        self.current = initial
    }

    /// The next delay; each call doubles it up to `maximum`.
    public mutating func next() -> Duration {
        defer { current = min(current * 2, maximum) }
        return current
    }

    /// Starts over at `initial` (after a success).
    public mutating func reset() { current = initial }
}
