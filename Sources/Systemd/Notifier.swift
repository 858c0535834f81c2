import CSystemd
import DBus

/// Tells the service manager about this service's state (`sd_notify`).
public struct Notifier: Sendable {
    /// Creates a notifier; it sends to `NOTIFY_SOCKET` when systemd set one.
    public init() {}

    /// `READY=1`: start-up finished (for `Type=notify`).
    @discardableResult
    public func ready() throws(BusError) -> Bool { try send("READY=1") }

    /// `STATUS=...`: a one-line status shown by `systemctl status` (`StatusText`).
    @discardableResult
    public func status(_ text: String) throws(BusError) -> Bool {
        try send("STATUS=" + text.replacingNewlines)
    }

    /// `WATCHDOG=1`: keep-alive for `WatchdogSec=`.
    @discardableResult
    public func watchdog() throws(BusError) -> Bool { try send("WATCHDOG=1") }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult
    public func stopping() throws(BusError) -> Bool { try send("STOPPING=1") }

    /// Sends raw assignments (`sd_notify`); false when not run by systemd (no `NOTIFY_SOCKET`).
    @discardableResult
    public func send(_ state: String) throws(BusError) -> Bool {
        try check(sd_notify(0, state), "sd_notify", "cannot notify the service manager") > 0
    }
}

extension String {
    var replacingNewlines: String { String(map { $0 == "\n" ? " " : $0 }) }
}
