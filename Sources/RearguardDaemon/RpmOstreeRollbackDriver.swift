import Logging
import RearguardCore
import RpmOstree

/// The `[rollback] driver = "rpm-ostree"` driver for Fedora CoreOS: asks rpm-ostreed over D-Bus
/// (`OS.Rollback({"reboot": false})`, `OS.Cleanup(["pending-deploy"])`) and then reads the sysroot back through
/// libostree, so a rollback counts only once the sysroot boots the target first.
///
/// rpm-ostreed failures surface as `BusError` (rpm-ostreed unreachable, a refused call, `Finished(false, _)`,
/// a timeout); a sysroot that disagrees with the request, before or after, as `RollbackError`.
public struct RpmOstreeRollbackDriver: RollbackDriver {
    /// Talks to rpm-ostreed.
    public let client: RpmOstreeClient
    /// Where the deployments are read back from (the same paths the agent uses).
    public var source: OSTreeDeploymentSource
    /// The booted deployment as identified at the start of this boot; nil resolves it from the kernel command line.
    /// A rollback rewrites the boot links that the running kernel's `ostree=` names, so a second call in the same
    /// boot needs this.
    public var knownBooted: BootedIdentity?
    let logger: Logger

    /// Creates a driver over an existing client.
    public init(client: RpmOstreeClient, source: OSTreeDeploymentSource, knownBooted: BootedIdentity? = nil, logger: Logger) {
        self.client = client
        self.source = source
        self.knownBooted = knownBooted
        self.logger = logger
    }

    /// Creates a driver and its client from the settings' values: `[host] bus`, `[host] host_run` and
    /// `[rollback] transaction_timeout`.
    public init(
        busAddress: String?, hostRun: String, transactionTimeout: Duration, source: OSTreeDeploymentSource,
        knownBooted: BootedIdentity? = nil, logger: Logger
    ) {
        let client = RpmOstreeClient(busAddress: busAddress, hostRun: hostRun, transactionTimeout: transactionTimeout, logger: logger)
        self.init(client: client, source: source, knownBooted: knownBooted, logger: logger)
    }

    /// `rpm-ostree cleanup -p` over D-Bus, then checks that no staged deployment is left.
    public func clearStaged() async throws {
        logger.info("clearing the staged deployment through rpm-ostreed")
        try await client.clearPendingDeployment()
        let after = try await source.snapshot(knownBooted: knownBooted)
        if let staged = after.staged {
            throw RollbackError("after rpm-ostree cleanup -p, \(source.run)/ostree still stages \(staged.checksum).\(staged.serial)")
        }
    }

    /// `rpm-ostree rollback` (never rebooting) over D-Bus, then checks that the sysroot boots `to` first.
    ///
    /// rpm-ostreed picks the target itself (the booted stateroot's rollback deployment, or the booted one back on
    /// top when only a pending one follows it), so a `to` it would not pick is refused before asking.
    public func rollback(from: Assessment.Release, to: Assessment.Release) async throws {
        let before = try await source.snapshot(knownBooted: knownBooted)
        let picked = before.rollback ?? (before.pending != nil ? before.booted : nil)
        if let picked, picked.checksum != to.checksum {
            throw RollbackError(
                "rpm-ostree would roll back to \(picked.version ?? picked.checksum), not \(to.label), in sysroot \(source.sysroot)")
        }
        logger.info(
            "rolling back through rpm-ostreed",
            metadata: ["from": "\(from.label)", "to": "\(to.label)", "sysroot": "\(source.sysroot)"])
        try await client.rollback()
        let booted = knownBooted ?? before.booted.map(BootedIdentity.init)
        let after = try await source.snapshot(knownBooted: booted)
        guard let first = after.deployments.first(where: { !$0.isStaged }), first.checksum == to.checksum else {
            throw RollbackError("after rpm-ostree rollback, sysroot \(source.sysroot) does not boot \(to.label) first")
        }
    }
}
