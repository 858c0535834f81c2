import Logging

/// A connection to the system bus (or the bus at `address`) that runs every (blocking) sd-bus call on its own thread.
///
/// Calls reconnect when the bus went away; while it stays away, connection attempts are spaced
/// out with exponential backoff, and the loss and the return are logged once each.
public actor Bus {
    /// The address given at init; nil means the system bus (`DBUS_SYSTEM_BUS_ADDRESS` honoured).
    public nonisolated let address: String?
    /// The timeout of every call unless a method says otherwise.
    public nonisolated let callTimeout: Duration
    package let logger: Logger
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
    package func withConnection<T>(_ body: (BusConnection) throws(BusError) -> T) throws(BusError) -> T {
        let c = try connected()
        do {
            return try body(c)
        } catch {
            if error.code == .disconnected || !c.isOpen { lose(error) }
            throw error
        }
    }

    private func connected() throws(BusError) -> BusConnection {
        if let connection, connection.isOpen { return connection }
        if connection != nil { lose(BusError(code: .disconnected, function: "sd_bus_is_open", message: "bus connection closed")) }
        if let nextAttempt, ContinuousClock.now < nextAttempt {
            throw BusError(code: .disconnected, function: "sd_bus_start", message: "bus \(displayAddress) unreachable, next attempt after backoff")
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

    private func lose(_ error: BusError) {
        connection = nil
        if !isLost {
            isLost = true
            logger.warning("bus connection lost, will reconnect", metadata: ["bus": "\(displayAddress)", "error": "\(error)"])
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
