import Glibc

/// Every failure of a libsystemd call, on the bus or around it (sd-bus, sd_notify), for the DBus module and both of
/// its clients (Systemd, RpmOstree): the raw errno, the D-Bus error name and the sd-* function.
public struct BusError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; stable across versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case disconnected, timeout, busError, invalidUnitName, unexpectedReply, transactionFailed, cancelled, system }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The bus could not be reached or the connection dropped (retryable).
        public static let disconnected = Code(.disconnected)
        /// A call got no answer within its timeout (retryable).
        public static let timeout = Code(.timeout)
        /// The peer answered with a D-Bus error (see `busError`).
        public static let busError = Code(.busError)
        /// systemd refused the unit name as malformed.
        public static let invalidUnitName = Code(.invalidUnitName)
        /// The reply did not have the expected D-Bus signature.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// An rpm-ostree transaction ended with `Finished(false, message)`; the message is rpm-ostreed's.
        public static let transactionFailed = Code(.transactionFailed)
        /// The caller's task was cancelled, so the operation was given up (an rpm-ostree transaction before `Start`).
        public static let cancelled = Code(.cancelled)
        /// Any other failure of an sd-* or libc call.
        public static let system = Code(.system)

        /// The code's stable name, e.g. `disconnected`.
        public var description: String { kind.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The positive errno the C function reported (0 when none).
    public var errno: Int32
    /// The D-Bus error name, e.g. `org.freedesktop.DBus.Error.InvalidArgs`.
    public var busError: String?
    /// The C function (or D-Bus method) that failed.
    public var function: String
    /// A lowercase message naming the object.
    public var message: String

    /// Creates an error from its parts.
    public init(code: Code, errno: Int32 = 0, busError: String? = nil, function: String, message: String) {
        self.code = code
        self.errno = errno
        self.busError = busError
        self.function = function
        self.message = message
    }

    /// Builds an error from an sd-* return value (`-errno`), classifying connection loss and timeouts.
    package init(returned r: Int32, function: String, message: String) {
        let e = r < 0 ? -r : r
        let code: Code
        switch e {
        case ECONNREFUSED, ECONNRESET, ENOTCONN, EPIPE, ESHUTDOWN, ENOENT, ECONNABORTED: code = .disconnected
        case ETIMEDOUT: code = .timeout
        default: code = .system
        }
        self.init(code: code, errno: e, function: function, message: "\(message): \(String(cString: strerror(e)))")
    }

    /// True when retrying later may succeed (STYLE E4): the bus was away, slow, or its peer not yet there.
    public var isRetryable: Bool {
        switch code {
        case .disconnected, .timeout: return true
        case .busError:
            return Self.retryableBusErrors.contains(busError ?? "")
        default: return false
        }
    }

    /// Bus errors seen while the peer (systemd, logind) restarts or has not yet joined the bus.
    package static let retryableBusErrors: Set<String> = [
        "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected",
        "org.freedesktop.DBus.Error.Timeout", "org.freedesktop.DBus.Error.TimedOut",
    ]

    /// The message followed by the function, bus error name and errno.
    public var description: String {
        var s = "\(message) (\(function)"
        if let busError { s += ", \(busError)" }
        if errno != 0 { s += ", errno \(errno)" }
        return s + ")"
    }
}

/// Throws a `BusError` when an sd-* call returned a negative errno (STYLE C5).
@discardableResult
package func check(_ r: Int32, _ function: String, _ message: @autoclosure () -> String) throws(BusError) -> Int32 {
    if r < 0 { throw BusError(returned: r, function: function, message: message()) }
    return r
}
