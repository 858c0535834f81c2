import CSystemd
import Glibc

/// An owned sd-bus connection (`sd_bus_flush_close_unref` in deinit). Not Sendable: it lives on
/// one thread or actor executor at a time.
package final class BusConnection {
    package let bus: OpaquePointer
    /// The address it was opened with; nil means `sd_bus_open_system` (honours `DBUS_SYSTEM_BUS_ADDRESS`).
    package let address: String?

    private init(bus: OpaquePointer, address: String?) {
        self.bus = bus
        self.address = address
    }

    deinit { sd_bus_flush_close_unref(bus) }

    /// The address to show in messages.
    package static func describe(_ address: String?) -> String {
        address ?? SystemBus.defaultAddress
    }

    /// Connects to the system bus, or to `address` when given (`sd_bus_open_system` / `sd_bus_start`).
    package static func open(address: String?) throws(BusError) -> BusConnection {
        var p: OpaquePointer?
        let shown = describe(address)
        if let address {
            try check(sd_bus_new(&p), "sd_bus_new", "cannot create bus")
            guard let bus = p else { throw BusError(code: .system, function: "sd_bus_new", message: "no bus") }
            let connection = BusConnection(bus: bus, address: address)
            try check(address.withCString { sd_bus_set_address(bus, $0) }, "sd_bus_set_address", "bad bus address \(shown)")
            try check(sd_bus_set_bus_client(bus, 1), "sd_bus_set_bus_client", "cannot set bus client")
            // logind's Inhibit answers with a file descriptor; without this the reply fails with EPROTO.
            try check(sd_bus_negotiate_fds(bus, 1), "sd_bus_negotiate_fds", "cannot enable fd passing")
            try check(sd_bus_start(bus), "sd_bus_start", "cannot connect to \(shown)")
            return connection
        }
        try check(sd_bus_open_system(&p), "sd_bus_open_system", "cannot connect to \(shown)")
        guard let bus = p else { throw BusError(code: .system, function: "sd_bus_open_system", message: "no bus") }
        return BusConnection(bus: bus, address: nil)
    }

    /// True while the connection is usable (`sd_bus_is_open`).
    package var isOpen: Bool { sd_bus_is_open(bus) > 0 }

    /// This connection's unique name on the bus, e.g. `:1.42`.
    package func uniqueName() throws(BusError) -> String {
        var p: UnsafePointer<CChar>?
        try check(sd_bus_get_unique_name(bus, &p), "sd_bus_get_unique_name", "no unique name")
        return p.map { String(cString: $0) } ?? ""
    }

    /// Connects peer-to-peer to `address`, with no bus daemon in between: no `Hello`, no names
    /// (`sd_bus_new`, `sd_bus_set_address`, `sd_bus_set_bus_client(bus, 0)`, `sd_bus_start`).
    package static func openPeer(address: String) throws(BusError) -> BusConnection {
        var p: OpaquePointer?
        try check(sd_bus_new(&p), "sd_bus_new", "cannot create bus")
        guard let bus = p else { throw BusError(code: .system, function: "sd_bus_new", message: "no bus") }
        let connection = BusConnection(bus: bus, address: address)
        try check(address.withCString { sd_bus_set_address(bus, $0) }, "sd_bus_set_address", "bad peer address \(address)")
        try check(sd_bus_set_bus_client(bus, 0), "sd_bus_set_bus_client", "cannot make a peer-to-peer connection")
        try check(sd_bus_start(bus), "sd_bus_start", "cannot connect to \(address)")
        return connection
    }

    /// Calls a method and waits at most `timeout` for the reply; `destination` is nil on a peer-to-peer connection
    /// (`sd_bus_message_new_method_call`, `sd_bus_message_append_basic`, `sd_bus_call`).
    package func call(
        _ destination: String?, _ path: String, _ interface: String, _ member: String,
        _ arguments: [BusArgument] = [], timeout: Duration
    ) throws(BusError) -> BusMessage {
        var m: OpaquePointer?
        try check(
            sd_bus_message_new_method_call(bus, &m, destination, path, interface, member),
            "sd_bus_message_new_method_call", "cannot create call \(interface).\(member)")
        guard let m else { throw BusError(code: .system, function: "sd_bus_message_new_method_call", message: "no message") }
        let request = BusMessage(adopting: m)
        for argument in arguments { try request.append(argument) }

        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var reply: OpaquePointer?
        let r = sd_bus_call(bus, request.pointer, timeout.microseconds, &error, &reply)
        if r < 0 {
            if let name = error.name {
                let text = error.message.map { String(cString: $0) } ?? String(cString: name)
                var e = BusError(
                    code: .busError, errno: -r, busError: String(cString: name), function: "\(interface).\(member)",
                    message: "\(member) failed: \(text)")
                if e.busError == "org.freedesktop.DBus.Error.NoReply" || e.busError == "org.freedesktop.DBus.Error.Timeout" {
                    e.code = .timeout
                }
                // sd-bus synthesizes these names locally when the connection drops mid-call.
                if e.busError == "org.freedesktop.DBus.Error.Disconnected" || !isOpen {
                    e.code = .disconnected
                }
                throw e
            }
            var e = BusError(returned: r, function: "sd_bus_call", message: "\(interface).\(member) on \(Self.describe(address))")
            if e.code == .system, !isOpen { e.code = .disconnected }
            throw e
        }
        guard let reply else { throw BusError(code: .system, function: "sd_bus_call", message: "no reply to \(member)") }
        return BusMessage(adopting: reply)
    }
}

/// Facts about the system bus.
public enum SystemBus {
    /// The address sd-bus uses when none is given: `DBUS_SYSTEM_BUS_ADDRESS`, else the well-known socket.
    public static var defaultAddress: String {
        if let p = getenv("DBUS_SYSTEM_BUS_ADDRESS") { return String(cString: p) }
        return "unix:path=/run/dbus/system_bus_socket"
    }
}

extension Duration {
    /// The duration in whole microseconds, as sd-bus timeouts want it (at least 1).
    package var microseconds: UInt64 {
        let (s, attos) = components
        let us = max(0, s) * 1_000_000 + attos / 1_000_000_000_000
        return UInt64(max(1, us))
    }
}
