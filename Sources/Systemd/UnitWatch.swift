import CSystemd
import DBus
import FoundationEssentials
import Posix
import Glibc
import Logging
import Synchronization

/// What a unit watch reports.
public enum UnitWatchEvent: Sendable, Equatable {
    /// Connected (again) and subscribed; `uniqueName` is the watch's own bus name.
    case connected(uniqueName: String)
    /// A unit's state as systemd reported it (the current state first, then every change).
    case state(UnitStatus)
    /// The bus went away (e.g. the node reboots); the watch reconnects with backoff.
    case disconnected(reason: String)
}

/// Watches units through systemd's `PropertiesChanged` signals: no polling.
///
/// Each watch owns a dedicated thread and bus connection. The thread sleeps in `poll(2)` on the
/// bus fd and a cancel eventfd, dispatches with `sd_bus_process`, and sends no method calls while
/// nothing changes. Unit signals come in pairs (type interface, then `Unit`); a state is delivered
/// on the `Unit` one, so it never mixes old and new values.
public enum UnitWatch {
    /// Every state change of `units` (current state first) plus connection events, until cancelled.
    /// Throws only for failures that retrying cannot fix, such as an invalid unit name.
    public static func events(
        units: [String], address: String? = nil, callTimeout: Duration = .seconds(5),
        backoff: Backoff = Backoff(), logger: Logger
    ) -> AsyncThrowingStream<UnitWatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: UnitWatchEvent.self)
        start(units: units, address: address, callTimeout: callTimeout, backoff: backoff, logger: logger,
              continuation: continuation) { $0 }
        return stream
    }

    /// The watch's events mapped by `transform` (nil drops one): e.g. only the states, in the caller's own type.
    public static func events<Element: Sendable>(
        units: [String], address: String? = nil, callTimeout: Duration = .seconds(5),
        backoff: Backoff = Backoff(), logger: Logger, transform: @escaping @Sendable (UnitWatchEvent) -> Element?
    ) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Element.self)
        start(units: units, address: address, callTimeout: callTimeout, backoff: backoff, logger: logger,
              continuation: continuation, transform: transform)
        return stream
    }

    /// Starts the watch thread; `transform` maps events to the stream's elements (nil drops one).
    static func start<Element: Sendable>(
        units: [String], address: String?, callTimeout: Duration, backoff: Backoff, logger: Logger,
        continuation: AsyncThrowingStream<Element, any Error>.Continuation,
        transform: @escaping @Sendable (UnitWatchEvent) -> Element?
    ) {
        let cancel: CancelSignal
        do {
            cancel = try CancelSignal()
        } catch {
            continuation.finish(throwing: error)
            return
        }
        continuation.onTermination = { _ in cancel.fire() }
        let started = PosixThread.detach(name: "rearguard-unit-watch") {
            WatchLoop(
                units: units, address: address, callTimeout: callTimeout, backoff: backoff, logger: logger, cancel: cancel,
                emit: { event in if let e = transform(event) { continuation.yield(e) } }
            ).run(finish: { continuation.finish(throwing: $0) })
            cancel.close()
        }
        if !started {
            cancel.close()
            continuation.finish(throwing: BusError(returned: -EAGAIN, function: "pthread_create", message: "cannot start the unit watch thread"))
        }
    }
}

/// A pipe that wakes the watch thread when the consumer goes away.
final class CancelSignal: Sendable {
    private let state: Mutex<(read: Int32, write: Int32, fired: Bool)>

    init() throws(BusError) {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) < 0 { throw BusError(returned: -errno, function: "pipe", message: "cannot create cancel signal") }
        state = Mutex((fds[0], fds[1], false))
    }

    /// The end to poll for `POLLIN`.
    var fd: Int32 { state.withLock { $0.read } }
    var isFired: Bool { state.withLock { $0.fired } }

    func fire() {
        state.withLock { s in
            guard !s.fired else { return }
            s.fired = true
            if s.write >= 0 {
                var b: UInt8 = 1
                _ = write(s.write, &b, 1)
            }
        }
    }

    func close() {
        state.withLock { s in
            if s.read >= 0 { Glibc.close(s.read) }
            if s.write >= 0 { Glibc.close(s.write) }
            s.read = -1
            s.write = -1
        }
    }
}

/// The watch thread's state: reconnects, re-subscribes and keeps the last state of each unit.
private final class WatchLoop {
    let units: [String]
    let address: String?
    let callTimeout: Duration
    var backoff: Backoff
    let logger: Logger
    let cancel: CancelSignal
    let emit: (UnitWatchEvent) -> Void
    /// Last delivered state per unit; survives reconnects so a new invocation shows as a change.
    var delivered: [String: UnitStatus] = [:]

    init(units: [String], address: String?, callTimeout: Duration, backoff: Backoff, logger: Logger,
         cancel: CancelSignal, emit: @escaping (UnitWatchEvent) -> Void) {
        self.units = units
        self.address = address
        self.callTimeout = callTimeout
        self.backoff = backoff
        self.logger = logger
        self.cancel = cancel
        self.emit = emit
    }

    func run(finish: (BusError?) -> Void) {
        var lost = false
        let shown = BusConnection.describe(address)
        while !cancel.isFired {
            do {
                let session = try WatchSession(loop: self)
                if lost { logger.info("unit watch reconnected", metadata: ["bus": "\(shown)"]) }
                lost = false
                backoff.reset()
                try session.run()
            } catch {
                if !error.isRetryable {
                    logger.error("unit watch failed", metadata: ["bus": "\(shown)", "error": "\(error)"])
                    finish(error)
                    return
                }
                if !lost {
                    lost = true
                    logger.warning("unit watch lost the bus, reconnecting", metadata: ["bus": "\(shown)", "error": "\(error)"])
                    emit(.disconnected(reason: error.message))
                } else {
                    logger.debug("unit watch reconnect failed", metadata: ["error": "\(error)"])
                }
                sleep(backoff.next())
            }
        }
        finish(nil)
    }

    /// Waits `d` unless cancelled earlier.
    private func sleep(_ d: Duration) {
        var p = pollfd(fd: cancel.fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(d.microseconds / 1000)
        _ = poll(&p, 1, ms)
    }

    func deliver(_ status: UnitStatus) {
        if delivered[status.unit] != status {
            delivered[status.unit] = status
            emit(.state(status))
        }
    }
}

/// One connection's life: match, subscribe, read the current states, dispatch signals.
private final class WatchSession {
    unowned let loop: WatchLoop
    let connection: BusConnection
    /// Current state per object path (merged from signals).
    var byPath: [String: UnitStatus] = [:]
    var failure: BusError?

    init(loop: WatchLoop) throws(BusError) {
        self.loop = loop
        connection = try BusConnection.open(address: loop.address)
        let timeout = loop.callTimeout
        var paths: [(String, String)] = []
        for name in loop.units { paths.append((name, try connection.loadUnit(name, timeout: timeout))) }
        // Match before reading, so no change falls between the read and the first signal.
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        for (_, path) in paths {
            let match = "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='\(path)'"
            let r = sd_bus_add_match(connection.bus, nil, match, { message, userdata, _ in
                guard let message, let userdata else { return 0 }
                Unmanaged<WatchSession>.fromOpaque(userdata).takeUnretainedValue().handle(message)
                return 0
            }, userdata)
            try check(r, "sd_bus_add_match", "cannot watch \(path)")
        }
        try connection.subscribe(timeout: timeout)
        loop.emit(.connected(uniqueName: try connection.uniqueName()))
        for (name, path) in paths {
            var status = UnitStatus(unit: name, objectPath: path)
            try connection.refresh(&status, timeout: timeout)
            byPath[path] = status
            loop.deliver(status)
        }
    }

    /// Dispatches until cancelled (returns) or the connection fails (throws).
    func run() throws(BusError) {
        let bus = connection.bus
        while true {
            let r = sd_bus_process(bus, nil)
            if let failure { throw failure }
            if r < 0 { throw BusError(returned: r, function: "sd_bus_process", message: "unit watch connection failed") }
            if !connection.isOpen {
                throw BusError(code: .disconnected, function: "sd_bus_process", message: "bus connection closed")
            }
            if r > 0 { continue }
            if loop.cancel.isFired { return }
            let busFD = sd_bus_get_fd(bus)
            let events = sd_bus_get_events(bus)
            if busFD < 0 || events < 0 { throw BusError(returned: busFD < 0 ? busFD : events, function: "sd_bus_get_events", message: "unit watch connection failed") }
            var usec: UInt64 = 0
            _ = sd_bus_get_timeout(bus, &usec)
            var timeoutMS: Int32 = -1
            if usec != UInt64.max {
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                let nowUS = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
                timeoutMS = usec <= nowUS ? 0 : Int32(min((usec - nowUS + 999) / 1000, UInt64(Int32.max)))
            }
            var fds = [
                pollfd(fd: busFD, events: Int16(events), revents: 0),
                pollfd(fd: loop.cancel.fd, events: Int16(POLLIN), revents: 0),
            ]
            let p = poll(&fds, 2, timeoutMS)
            if p < 0 && errno != EINTR { throw BusError(returned: -errno, function: "poll", message: "unit watch wait failed") }
            if fds[1].revents != 0 { return }
        }
    }

    /// Merges one `PropertiesChanged(s interface, a{sv} changed, as invalidated)` into the unit's state.
    func handle(_ message: OpaquePointer) {
        guard let cPath = sd_bus_message_get_path(message) else { return }
        let path = String(cString: cPath)
        guard var status = byPath[path] else { return }
        let r = BusReader(m: message)
        do {
            let interface = try r.string()
            try r.dictionary { (key, signature) throws(BusError) in try status.read(key, signature: signature, from: r) }
            var invalidated: [String] = []
            if try r.enter(Sig.array, "s") {
                while let s = try? r.string() { invalidated.append(s) }
                try r.exit()
            }
            let ours = UnitStatus.unitProperties.union(UnitStatus.serviceProperties)
            if invalidated.contains(where: { ours.contains($0) }) {
                try connection.refresh(&status, timeout: loop.callTimeout)
            }
            byPath[path] = status
            if interface == Systemd1.unit { loop.deliver(status) }
        } catch {
            failure = error
        }
    }
}
