import CSystemd
import DBus
import Logging

/// A client of rpm-ostreed (`org.projectatomic.rpmostree1`) on the system bus, for the two calls a rollback needs:
/// `OS.Rollback({"reboot": false})` and `OS.Cleanup(["pending-deploy"])`.
///
/// Each operation is one session on its own connection: `Sysroot.RegisterClient({"id": clientID})`, the OS object
/// (`Sysroot.Booted`, or `Sysroot.GetOS(osname)` when an osname is given), the method, which returns a transaction
/// address, then the transaction itself over a peer-to-peer connection to that address (`Start()`, then the
/// `Finished(success, message)` signal within `transactionTimeout`), and `UnregisterClient` at the end.
/// rpm-ostreed names its transaction socket under the host's `/run`; the address's `/run/` prefix is rewritten
/// to `hostRun`, where a container sees the host's `/run`.
///
/// Every blocking sd-bus call runs on the client's own thread, never on the cooperative pool (STYLE C6). Failures
/// are `BusError`s: `.disconnected` (bus or transaction socket unreachable, or gone mid-way), `.busError`
/// (rpm-ostreed refused the call), `.transactionFailed` (`Finished(false, message)`), `.timeout`, `.cancelled`.
public actor RpmOstreeClient {
    /// rpm-ostreed's bus name.
    public static let service = "org.projectatomic.rpmostree1"
    /// The sysroot object.
    public static let sysrootPath = "/org/projectatomic/rpmostree1/Sysroot"
    static let sysrootInterface = "org.projectatomic.rpmostree1.Sysroot"
    static let osInterface = "org.projectatomic.rpmostree1.OS"
    static let transactionInterface = "org.projectatomic.rpmostree1.Transaction"

    /// The system bus address; nil means `sd_bus_open_system` (honours `DBUS_SYSTEM_BUS_ADDRESS`).
    public nonisolated let busAddress: String?
    /// Where this process sees the host's `/run` (`[host] host_run`; `/run` on the host itself).
    public nonisolated let hostRun: String
    /// How long a started transaction may take to send `Finished` (`[rollback] transaction_timeout`).
    public nonisolated let transactionTimeout: Duration
    /// The timeout of each method call.
    public nonisolated let callTimeout: Duration
    /// The stateroot whose OS object is used; nil means the booted one (`Sysroot.Booted`).
    public nonisolated let osname: String?
    /// The `id` given to `RegisterClient`.
    public nonisolated let clientID: String
    let logger: Logger
    private let executor: BusThreadExecutor

    /// The client's thread: every sd-bus call of this actor runs there.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Creates a client; nothing connects until an operation runs.
    public init(
        busAddress: String? = nil, hostRun: String = "/run", transactionTimeout: Duration = .seconds(600),
        callTimeout: Duration = .seconds(30), osname: String? = nil, clientID: String = "rearguard", logger: Logger
    ) {
        self.busAddress = busAddress
        self.hostRun = hostRun
        self.transactionTimeout = transactionTimeout
        self.callTimeout = callTimeout
        self.osname = osname
        self.clientID = clientID
        self.logger = logger
        self.executor = BusThreadExecutor(name: "rearguard-rpm-ostree")
    }

    deinit { executor.stop() }

    /// `OS.Rollback({"reboot": false})` and its transaction: makes the rollback deployment the default, without
    /// rebooting (the caller reboots). Returns once the transaction finished successfully.
    public func rollback() throws(BusError) {
        try perform("rollback", member: "Rollback", [.options([(key: "reboot", value: .bool(false))])])
    }

    /// `OS.Cleanup(elements)` and its transaction, e.g. `["pending-deploy"]`.
    public func cleanup(_ elements: [String]) throws(BusError) {
        try perform("cleanup", member: "Cleanup", [.stringArray(elements)])
    }

    /// `OS.Cleanup(["pending-deploy"])` (`rpm-ostree cleanup -p`): removes a staged deployment.
    public func clearPendingDeployment() throws(BusError) {
        try cleanup(["pending-deploy"])
    }

    /// One session: register, find the OS object, call `member`, run the transaction it returns, unregister.
    private func perform(_ title: String, member: String, _ arguments: [BusArgument]) throws(BusError) {
        let bus: BusConnection
        do {
            bus = try BusConnection.open(address: busAddress)
        } catch {
            throw Self.context(error, "cannot reach rpm-ostreed")
        }
        try call(bus, Self.sysrootPath, Self.sysrootInterface, "RegisterClient", [.options([(key: "id", value: .string(clientID))])])
        defer { unregister(bus) }
        let os = try osObject(bus)
        let reply = try call(bus, os, Self.osInterface, member, arguments)
        let reported: String
        do {
            reported = try BusReader(m: reply.pointer).string()
        } catch {
            throw Self.context(error, "rpm-ostreed \(member) returned no transaction address")
        }
        let address = Self.transactionAddress(reported, hostRun: hostRun)
        logger.info("rpm-ostree transaction created", metadata: ["transaction": "\(title)", "address": "\(address)"])
        try TransactionRun(title: title, address: address, reported: reported, logger: logger)
            .run(callTimeout: callTimeout, timeout: transactionTimeout)
        logger.info("rpm-ostree transaction finished", metadata: ["transaction": "\(title)"])
    }

    /// The OS object: `GetOS(osname)` when an osname is set, else the `Booted` property.
    private func osObject(_ bus: BusConnection) throws(BusError) -> String {
        if let osname {
            let reply = try call(bus, Self.sysrootPath, Self.sysrootInterface, "GetOS", [.string(osname)])
            return try BusReader(m: reply.pointer).string(Sig.objectPath)
        }
        let reply = try call(bus, Self.sysrootPath, StandardInterface.properties, "Get", [.string(Self.sysrootInterface), .string("Booted")])
        let r = BusReader(m: reply.pointer)
        guard try r.enter(Sig.variant, "o") else { throw r.unexpected("empty Booted property") }
        let path = try r.string(Sig.objectPath)
        // rpm-ostreed answers "/" when the sysroot it manages is not the booted system.
        guard path != "/" else {
            throw BusError(
                code: .unexpectedReply, function: "\(Self.sysrootInterface).Booted",
                message: "rpm-ostreed reports no booted os (Sysroot.Booted is /)")
        }
        return path
    }

    @discardableResult
    private func call(
        _ bus: BusConnection, _ path: String, _ interface: String, _ member: String, _ arguments: [BusArgument] = []
    ) throws(BusError) -> BusMessage {
        do {
            return try bus.call(Self.service, path, interface, member, arguments, timeout: callTimeout)
        } catch {
            throw Self.context(error, "rpm-ostreed")
        }
    }

    /// `UnregisterClient`, best effort: the session is over either way, and rpm-ostreed forgets clients that leave the bus.
    private func unregister(_ bus: BusConnection) {
        do {
            _ = try bus.call(Self.service, Self.sysrootPath, Self.sysrootInterface, "UnregisterClient", [.options([])], timeout: callTimeout)
        } catch {
            logger.debug("rpm-ostreed UnregisterClient failed", metadata: ["error": "\(error)"])
        }
    }

    /// Prefixes an error's message with what was being done.
    static func context(_ error: BusError, _ what: String) -> BusError {
        var e = error
        e.message = "\(what): \(error.message)"
        return e
    }

    /// Rewrites the `/run` prefix of every `unix:path=` in a D-Bus address to `hostRun`, e.g.
    /// `unix:path=/run/rpm-ostree-transaction.sock` to `unix:path=/run/host/rpm-ostree-transaction.sock` for
    /// `hostRun` `/run/host`. Other transports, keys and paths stay as they are.
    public static func transactionAddress(_ address: String, hostRun: String) -> String {
        var prefix = hostRun
        while prefix.count > 1, prefix.hasSuffix("/") { prefix.removeLast() }
        if prefix == "/run" { return address }
        let entries = address.split(separator: ";", omittingEmptySubsequences: false).map { entry -> String in
            guard let colon = entry.firstIndex(of: ":"), entry[..<colon] == "unix" else { return String(entry) }
            let pairs = entry[entry.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false).map { pair -> String in
                guard pair.hasPrefix("path="), let path = DBusAddress.unescape(pair.dropFirst("path=".count)) else { return String(pair) }
                guard path == "/run" || path.hasPrefix("/run/") else { return String(pair) }
                let rewritten = prefix == "/" ? String(path.dropFirst("/run".count)) : prefix + path.dropFirst("/run".count)
                return "path=" + DBusAddress.escape(rewritten.isEmpty ? "/" : rewritten)
            }
            return "unix:" + pairs.joined(separator: ",")
        }
        return entries.joined(separator: ";")
    }
}

/// D-Bus address value escaping: bytes outside `[-0-9A-Za-z_/.*]` are written `%XX`.
enum DBusAddress {
    static func escape(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// Decodes `%XX`; nil for a malformed escape.
    static func unescape(_ value: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = value.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
