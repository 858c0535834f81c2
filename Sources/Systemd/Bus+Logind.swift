import CSystemd
import DBus
import Glibc
import Logging

/// One entry of logind's `ListInhibitors`.
public struct InhibitorInfo: Sendable, Equatable {
    /// What is inhibited, colon-separated (`shutdown`, `sleep`, ...).
    public var what: String
    /// Who holds it.
    public var who: String
    /// Why.
    public var why: String
    /// `block` or `delay`.
    public var mode: String
    /// The holder's uid.
    public var uid: UInt32
    /// The holder's pid.
    public var pid: UInt32
}

/// A logind inhibitor lock: the lock holds while this object keeps the file descriptor open.
/// Released by `release()` or, at the latest, in deinit.
public final class Inhibitor {
    private var fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { release() }

    /// True until `release()`.
    public var isHeld: Bool { fd >= 0 }

    /// Closes the file descriptor, which ends the lock.
    public func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}

extension Bus {
    /// How a reboot was requested.
    public enum RebootPath: Sendable, Equatable {
        /// logind `Reboot(false)`.
        case logind
        /// systemd `StartUnit("reboot.target", "replace-irreversibly")`, after logind failed.
        case rebootTarget
    }

    /// Reboots the node: logind `Reboot(false)`, else `StartUnit("reboot.target", "replace-irreversibly")`.
    @discardableResult
    public func reboot() throws(BusError) -> RebootPath {
        let timeout = callTimeout
        // Connect first: "disconnected" below means the node went down after the request was sent, which must not
        // be confused with a bus that was never reached (then nothing was requested and the caller must know).
        try withConnection { _ throws(BusError) in }
        do {
            _ = try withConnection { c throws(BusError) in
                try c.call(Systemd1.login1, Systemd1.login1Path, Systemd1.login1Manager, "Reboot", [.bool(false)], timeout: timeout)
            }
            return .logind
        } catch where error.code == .disconnected {
            // The node went down before logind's reply reached us: the request was taken.
            return .logind
        } catch {
            logger.warning("logind reboot failed, starting reboot.target", metadata: ["error": "\(error)"])
            do {
                try startUnit("reboot.target", mode: "replace-irreversibly")
            } catch where error.code == .disconnected {
                return .rebootTarget
            }
            return .rebootTarget
        }
    }

    /// Takes a logind inhibitor lock (`Inhibit(what, who, why, mode) -> h`), e.g. what `shutdown`, mode `block`.
    public func inhibit(what: String = "shutdown", who: String, why: String, mode: String = "block") throws(BusError) -> sending Inhibitor {
        let timeout = callTimeout
        let fd = try withConnection { c throws(BusError) -> Int32 in
            let reply: BusMessage
            do throws(BusError) {
                reply = try c.call(
                    Systemd1.login1, Systemd1.login1Path, Systemd1.login1Manager, "Inhibit",
                    [.string(what), .string(who), .string(why), .string(mode)], timeout: timeout)
            } catch where error.busError == "System.Error.EPROTO" {
                // logind ties the lock to the caller's pid; from another PID namespace it sees none.
                var e = error
                e.message = "logind cannot identify the caller of inhibit (run in the host's pid namespace): \(error.message)"
                throw e
            }
            // The fd belongs to the reply message; keep our own duplicate.
            let borrowed = try BusReader(m: reply.pointer).basic(Sig.fd, as: Int32.self)
            let own = fcntl(borrowed, F_DUPFD_CLOEXEC, 3)
            if own < 0 { throw BusError(returned: -errno, function: "fcntl", message: "cannot keep inhibitor fd") }
            return own
        }
        return Inhibitor(fd: fd)
    }

    /// logind `ListInhibitors() -> a(ssssuu)`.
    public func listInhibitors() throws(BusError) -> [InhibitorInfo] {
        let timeout = callTimeout
        return try withConnection { c throws(BusError) in
            let reply = try c.call(Systemd1.login1, Systemd1.login1Path, Systemd1.login1Manager, "ListInhibitors", timeout: timeout)
            let r = BusReader(m: reply.pointer)
            var list: [InhibitorInfo] = []
            guard try r.enter(Sig.array, "(ssssuu)") else { return list }
            while try r.enter(Sig.structure, "ssssuu") {
                list.append(InhibitorInfo(
                    what: try r.string(), who: try r.string(), why: try r.string(), mode: try r.string(),
                    uid: try r.basic(Sig.uint32, as: UInt32.self), pid: try r.basic(Sig.uint32, as: UInt32.self)))
                try r.exit()
            }
            try r.exit()
            return list
        }
    }
}
