import FoundationEssentials
import Logging
import RearguardCore
import ServiceLifecycle

/// The node's side of FleetLock (`[fleet] strategy = "fleet_lock"`): what it wants from the server, pursued until the
/// server agrees. A reboot waits for the slot (never a reboot without it); a rolled-back node keeps its slot, so the
/// bad release stops at this node; the slot goes back when the agent says so (an admin's release once good, or a good
/// update when Zincati is not there to do it). Failures (unreachable, 4xx, 5xx) are retried with backoff and shown,
/// never acted around. The server holds the truth (the lock is recursive per node id), so nothing here is persisted:
/// after a restart the agent asks again for what its memory implies.
public actor FleetCoordinator: Service {
    /// What the node wants from the server.
    public enum Want: Sendable, Equatable {
        case nothing
        /// Take the slot, then reboot (Rearguard's own reboot after a rollback).
        case rebootWhenHeld(reason: String)
        /// Take the slot and keep it (rolled back: the rollout stops here).
        case keep
        /// Give the slot back.
        case release
    }

    /// What status shows.
    public struct Snapshot: Sendable, Equatable {
        public var slotHeld: Bool?
        public var want: Want
        public var waitingSince: Date?
        public var lastError: FleetLockError?
        public var lastErrorAt: Date?
    }

    /// The server's client (its id and group are the node's).
    public nonisolated let client: FleetLockClient
    private let logger: Logger
    private let backoff: (initial: Duration, maximum: Duration)
    private var want = Want.nothing
    private var slotHeld: Bool?
    private var waitingSince: Date?
    private var lastError: FleetLockError?
    private var lastErrorAt: Date?
    private var rebooter: (@Sendable (String) async -> Void)?
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates a coordinator; `backoff` spaces the retries after a failure.
    public init(client: FleetLockClient, backoff: (initial: Duration, maximum: Duration) = (.seconds(1), .seconds(60)), logger: Logger) {
        self.client = client
        self.backoff = backoff
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Who reboots once the slot is ours (the agent).
    public func setRebooter(_ rebooter: @escaping @Sendable (String) async -> Void) { self.rebooter = rebooter }

    /// Asks for `wanted`; a reboot already waiting for the slot is never downgraded to keeping it.
    public func request(_ wanted: Want) {
        if case .rebootWhenHeld = want, wanted == .keep { return }
        guard wanted != want else { return }
        want = wanted
        if case .rebootWhenHeld = wanted, waitingSince == nil { waitingSince = Date() }
        wake.yield()
    }

    /// The state for status and metrics.
    public func snapshot() -> Snapshot {
        Snapshot(slotHeld: slotHeld, want: want, waitingSince: waitingSince, lastError: lastError, lastErrorAt: lastErrorAt)
    }

    /// Pursues what is wanted until cancelled or a graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var delay = backoff.initial
        var pending = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let wanted = want
            if wanted == .nothing || (wanted == .keep && slotHeld == true) {
                guard await pending.next() != nil else { return }
                continue
            }
            if await pursue(wanted) {
                delay = backoff.initial
                continue
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, backoff.maximum)
        }
    }

    /// One attempt; true when it went through.
    private func pursue(_ wanted: Want) async -> Bool {
        do {
            switch wanted {
            case .nothing:
                return true
            case .keep, .rebootWhenHeld:
                try await client.preReboot()
                if slotHeld != true { logger.notice("fleet lock: reboot slot held", metadata: ["group": "\(client.group)"]) }
                slotHeld = true
            case .release:
                try await client.steadyState()
                logger.notice("fleet lock: reboot slot given back", metadata: ["group": "\(client.group)"])
                slotHeld = false
            }
        } catch {
            if lastError != error {
                logger.warning("fleet lock: \(Self.verb(wanted)) failed, retrying", metadata: [
                    "kind": "\(error.kind)", "value": "\(error.value)", "server": "\(client.baseURL)",
                ])
            }
            lastError = error
            lastErrorAt = Date()
            return false
        }
        lastError = nil
        lastErrorAt = nil
        // Only the want that was pursued is settled; a newer one is left for the next turn.
        guard want == wanted else { return true }
        switch wanted {
        case .rebootWhenHeld(let reason):
            // Keep the slot across the reboot: the rolled-back node holds it until an admin releases it.
            want = .keep
            waitingSince = nil
            if let rebooter { await rebooter(reason) }
        case .release:
            want = .nothing
        case .keep, .nothing:
            break
        }
        return true
    }

    private static func verb(_ wanted: Want) -> String {
        switch wanted {
        case .nothing: "nothing"
        case .keep, .rebootWhenHeld: "taking the reboot slot"
        case .release: "giving the reboot slot back"
        }
    }
}
