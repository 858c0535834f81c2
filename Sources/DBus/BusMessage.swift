import CSystemd
import Glibc

/// The bus's own standard interfaces.
package enum StandardInterface {
    /// `Get`, `GetAll` and the `PropertiesChanged` signal.
    package static let properties = "org.freedesktop.DBus.Properties"
}

/// One argument of a method call: basic values with `sd_bus_message_append_basic`, containers with
/// `sd_bus_message_open_container`.
package enum BusArgument {
    case string(String)
    case objectPath(String)
    case bool(Bool)
    case int32(Int32)
    case uint32(UInt32)
    /// An `as`.
    case stringArray([String])
    /// An `a{sv}` (rpm-ostreed's options): each value goes into a variant of its own signature.
    case options([(key: String, value: BusArgument)])

    /// The value's D-Bus signature.
    package var signature: String {
        switch self {
        case .string: return "s"
        case .objectPath: return "o"
        case .bool: return "b"
        case .int32: return "i"
        case .uint32: return "u"
        case .stringArray: return "as"
        case .options: return "a{sv}"
        }
    }
}

/// An owned `sd_bus_message` (released with `sd_bus_message_unref`).
package final class BusMessage {
    package let pointer: OpaquePointer

    /// Adopts a reference the caller owns.
    package init(adopting pointer: OpaquePointer) { self.pointer = pointer }

    deinit { sd_bus_message_unref(pointer) }

    /// Appends one basic value (`sd_bus_message_append_basic`).
    package func append(_ argument: BusArgument) throws(BusError) {
        let r: Int32
        switch argument {
        case .string(let s):
            r = s.withCString { sd_bus_message_append_basic(pointer, Sig.string, $0) }
        case .objectPath(let s):
            r = s.withCString { sd_bus_message_append_basic(pointer, Sig.objectPath, $0) }
        case .bool(let b):
            var v: Int32 = b ? 1 : 0
            r = sd_bus_message_append_basic(pointer, Sig.bool, &v)
        case .int32(var v):
            r = sd_bus_message_append_basic(pointer, Sig.int32, &v)
        case .uint32(var v):
            r = sd_bus_message_append_basic(pointer, Sig.uint32, &v)
        case .stringArray(let strings):
            try open(Sig.array, "s")
            for s in strings { try append(.string(s)) }
            try close()
            return
        case .options(let entries):
            try open(Sig.array, "{sv}")
            for (key, value) in entries {
                try open(Sig.dictEntry, "sv")
                try append(.string(key))
                try open(Sig.variant, value.signature)
                try append(value)
                try close()
                try close()
            }
            try close()
            return
        }
        try check(r, "sd_bus_message_append_basic", "cannot append argument")
    }

    private func open(_ type: CChar, _ contents: String) throws(BusError) {
        let r = contents.withCString { sd_bus_message_open_container(pointer, type, $0) }
        try check(r, "sd_bus_message_open_container", "cannot open container \(contents)")
    }

    private func close() throws(BusError) {
        try check(sd_bus_message_close_container(pointer), "sd_bus_message_close_container", "cannot close container")
    }
}

/// D-Bus type characters as the `char type` parameters of sd-bus want them.
package enum Sig {
    package static let string = CChar(UInt8(ascii: "s"))
    package static let objectPath = CChar(UInt8(ascii: "o"))
    package static let bool = CChar(UInt8(ascii: "b"))
    package static let int32 = CChar(UInt8(ascii: "i"))
    package static let uint32 = CChar(UInt8(ascii: "u"))
    package static let uint64 = CChar(UInt8(ascii: "t"))
    package static let byte = CChar(UInt8(ascii: "y"))
    package static let fd = CChar(UInt8(ascii: "h"))
    package static let array = CChar(UInt8(ascii: "a"))
    package static let variant = CChar(UInt8(ascii: "v"))
    package static let dictEntry = CChar(UInt8(ascii: "e"))
    package static let structure = CChar(UInt8(ascii: "r"))
}

/// Reading a message that sd-bus owns or that a `BusMessage` keeps alive.
/// The pointer is borrowed: the reader never unrefs it.
package struct BusReader {
    package let m: OpaquePointer

    /// Reads `m` from its current position.
    package init(m: OpaquePointer) { self.m = m }

    /// Reads a string or object path (`sd_bus_message_read_basic`); the copy outlives the message.
    package func string(_ type: CChar = Sig.string) throws(BusError) -> String {
        var p: UnsafePointer<CChar>?
        try check(sd_bus_message_read_basic(m, type, &p), "sd_bus_message_read_basic", "cannot read string")
        guard let p else { throw unexpected("null string") }
        return String(cString: p)
    }

    /// Reads a fixed-size value of D-Bus type `type` (`sd_bus_message_read_basic`).
    package func basic<T: FixedWidthInteger>(_ type: CChar, as _: T.Type) throws(BusError) -> T {
        var v: T = 0
        try check(sd_bus_message_read_basic(m, type, &v), "sd_bus_message_read_basic", "cannot read value")
        return v
    }

    /// Reads a boolean (D-Bus `b` is a 32-bit int on the wire).
    package func bool() throws(BusError) -> Bool { try basic(Sig.bool, as: Int32.self) != 0 }

    /// Reads an `ay` (`sd_bus_message_read_array`).
    package func bytes() throws(BusError) -> [UInt8] {
        var p: UnsafeRawPointer?
        var size = 0
        try check(sd_bus_message_read_array(m, Sig.byte, &p, &size), "sd_bus_message_read_array", "cannot read byte array")
        guard let p, size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: size))
    }

    /// Enters a container; returns false at the end of the enclosing array.
    package func enter(_ type: CChar, _ contents: String) throws(BusError) -> Bool {
        let r = contents.withCString { sd_bus_message_enter_container(m, type, $0) }
        return try check(r, "sd_bus_message_enter_container", "cannot enter \(contents)") > 0
    }

    /// Leaves the current container.
    package func exit() throws(BusError) {
        try check(sd_bus_message_exit_container(m), "sd_bus_message_exit_container", "cannot leave container")
    }

    /// Skips the next value of signature `types`.
    package func skip(_ types: String) throws(BusError) {
        try check(types.withCString { sd_bus_message_skip(m, $0) }, "sd_bus_message_skip", "cannot skip \(types)")
    }

    /// The contents signature of the variant that comes next, e.g. `s`.
    package func peekVariant() throws(BusError) -> String {
        var type: CChar = 0
        var contents: UnsafePointer<CChar>?
        try check(sd_bus_message_peek_type(m, &type, &contents), "sd_bus_message_peek_type", "cannot peek type")
        guard type == Sig.variant, let contents else { throw unexpected("expected a variant") }
        return String(cString: contents)
    }

    /// Reads an `a{sv}`, calling `value` for every key with the reader positioned inside the
    /// variant; `value` returns false when it did not read the value, which is then skipped.
    package func dictionary(_ value: (String, String) throws(BusError) -> Bool) throws(BusError) {
        guard try enter(Sig.array, "{sv}") else { return }
        while try enter(Sig.dictEntry, "sv") {
            let key = try string()
            let contents = try peekVariant()
            if try enter(Sig.variant, contents) {
                if try !value(key, contents) { try skip(contents) }
                try exit()
            }
            try exit()
        }
        try exit()
    }

    package func unexpected(_ what: String) -> BusError {
        BusError(code: .unexpectedReply, function: "sd_bus_message_read", message: "unexpected reply: \(what)")
    }
}
