import CSystemd
import DBus
import Glibc
import Logging

/// One rpm-ostree transaction on its peer-to-peer connection: connect, match the signals, `Start()`, wait for
/// `Finished`. Runs on the client's thread; waits in slices so task cancellation is noticed.
final class TransactionRun {
    let title: String
    /// The address connected to (after the `/run` rewrite).
    let address: String
    /// The address rpm-ostreed returned, for messages.
    let reported: String
    let logger: Logger
    private var finished: (success: Bool, message: String)?
    private var failure: BusError?

    init(title: String, address: String, reported: String, logger: Logger) {
        self.title = title
        self.address = address
        self.reported = reported
        self.logger = logger
    }

    /// Runs the transaction to `Finished(true, _)`; throws on every other outcome.
    func run(callTimeout: Duration, timeout: Duration) throws(BusError) {
        let peer: BusConnection
        do {
            peer = try BusConnection.openPeer(address: address)
        } catch {
            let said = address == reported ? "" : " (rpm-ostreed said \(reported))"
            throw RpmOstreeClient.context(error, "rpm-ostree \(title) transaction\(said)")
        }
        try withExtendedLifetime(self) { () throws(BusError) in
            let userdata = Unmanaged.passUnretained(self).toOpaque()
            let match = "type='signal',interface='\(RpmOstreeClient.transactionInterface)'"
            let r = sd_bus_add_match(peer.bus, nil, match, { message, userdata, _ in
                guard let message, let userdata else { return 0 }
                Unmanaged<TransactionRun>.fromOpaque(userdata).takeUnretainedValue().handle(message)
                return 0
            }, userdata)
            try check(r, "sd_bus_add_match", "cannot watch the rpm-ostree \(title) transaction")

            // rpm-ostreed cancels a transaction whose client leaves before Start: a cancelled caller does just that.
            // It first makes sure rpm-ostreed has taken the connection as a client, with a Peer.Ping round trip (GDBus
            // handles no message on a new server connection before the daemon's handler has taken it): a client gone
            // before that handler ran is a close rpm-ostreed may never see, and the transaction would stay in progress,
            // refusing every later one (seen once with the test suites running in parallel).
            if Task.isCancelled {
                _ = try? peer.call(nil, "/", "org.freedesktop.DBus.Peer", "Ping", timeout: min(callTimeout, .seconds(2)))
                throw BusError(
                    code: .cancelled, function: "\(RpmOstreeClient.transactionInterface).Start",
                    message: "rpm-ostree \(title) transaction cancelled before start")
            }
            let reply: BusMessage
            do throws(BusError) {
                reply = try peer.call(nil, "/", RpmOstreeClient.transactionInterface, "Start", timeout: callTimeout)
            } catch {
                throw RpmOstreeClient.context(error, "rpm-ostree \(title) transaction")
            }
            let started = try BusReader(m: reply.pointer).bool()
            logger.debug("rpm-ostree transaction started", metadata: ["transaction": "\(title)", "by_us": "\(started)"])
            try wait(peer, callTimeout: callTimeout, timeout: timeout)
        }
        guard let finished else { return }
        if !finished.success {
            throw BusError(
                code: .transactionFailed, function: "\(RpmOstreeClient.transactionInterface).Finished",
                message: "rpm-ostree \(title) transaction failed: \(finished.message)")
        }
    }

    /// Dispatches until `Finished` arrives, the connection drops, the task is cancelled or `timeout` passes.
    private func wait(_ peer: BusConnection, callTimeout: Duration, timeout: Duration) throws(BusError) {
        let bus = peer.bus
        let deadline = ContinuousClock.now + timeout
        while finished == nil {
            let r = sd_bus_process(bus, nil)
            if let failure { throw failure }
            if finished != nil { return }
            if r < 0 || !peer.isOpen {
                var e = r < 0
                    ? BusError(returned: r, function: "sd_bus_process", message: "connection closed")
                    : BusError(code: .disconnected, function: "sd_bus_process", message: "connection closed")
                e.code = .disconnected
                throw RpmOstreeClient.context(e, "rpm-ostree \(title) transaction ended before Finished")
            }
            if r > 0 { continue }
            if Task.isCancelled {
                cancel(peer, callTimeout: callTimeout)
                throw BusError(
                    code: .cancelled, function: "\(RpmOstreeClient.transactionInterface).Finished",
                    message: "rpm-ostree \(title) transaction given up: the caller was cancelled (Cancel sent)")
            }
            let now = ContinuousClock.now
            if now >= deadline {
                cancel(peer, callTimeout: callTimeout)
                throw BusError(
                    code: .timeout, function: "\(RpmOstreeClient.transactionInterface).Finished",
                    message: "rpm-ostree \(title) transaction did not finish within \(timeout) (Cancel sent)")
            }
            let w = sd_bus_wait(bus, min(deadline - now, .milliseconds(100)).microseconds)
            if w < 0 && w != -EINTR {
                var e = BusError(returned: w, function: "sd_bus_wait", message: "wait failed")
                e.code = .disconnected
                throw RpmOstreeClient.context(e, "rpm-ostree \(title) transaction")
            }
        }
    }

    /// `Transaction.Cancel()`, best effort: the caller is giving up either way.
    private func cancel(_ peer: BusConnection, callTimeout: Duration) {
        do {
            _ = try peer.call(nil, "/", RpmOstreeClient.transactionInterface, "Cancel", timeout: min(callTimeout, .seconds(2)))
        } catch {
            logger.debug("rpm-ostree transaction Cancel failed", metadata: ["transaction": "\(title)", "error": "\(error)"])
        }
    }

    /// Reads one Transaction signal: progress is logged, `Finished` ends the wait.
    private func handle(_ message: OpaquePointer) {
        guard let cMember = sd_bus_message_get_member(message) else { return }
        let r = BusReader(m: message)
        do {
            switch String(cString: cMember) {
            case "Finished":
                let success = try r.bool()
                finished = (success, try r.string())
            case "Message":
                let text = try r.string()
                logger.info("rpm-ostree message", metadata: ["transaction": "\(title)", "text": "\(text)"])
            case "TaskBegin":
                let text = try r.string()
                logger.info("rpm-ostree task begins", metadata: ["transaction": "\(title)", "text": "\(text)"])
            case "TaskEnd":
                let text = try r.string()
                logger.debug("rpm-ostree task ends", metadata: ["transaction": "\(title)", "text": "\(text)"])
            case "PercentProgress":
                let text = try r.string()
                let percent = try r.basic(Sig.uint32, as: UInt32.self)
                logger.debug("rpm-ostree progress", metadata: ["transaction": "\(title)", "text": "\(text)", "percent": "\(percent)"])
            default:
                break
            }
        } catch {
            failure = RpmOstreeClient.context(error, "rpm-ostree \(title) transaction sent an unreadable signal")
        }
    }
}
