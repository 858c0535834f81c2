import Dispatch
import OSTree
import RearguardCore

/// The `[rollback] driver = "ostree"` driver for plain OSTree hosts without rpm-ostree: reorders the boot with
/// libostree (`ostree_sysroot_write_deployments`, rpm-ostree's ordering rule) and reads the sysroot back.
public struct OSTreeRollbackDriver: RollbackDriver {
    /// Where the deployments are read from (the same paths the agent uses).
    public var source: OSTreeDeploymentSource
    /// The booted deployment as resolved at the start of this boot (the cmdline stops resolving after a rewrite).
    public var knownBooted: BootedIdentity?

    /// Creates a driver over a deployment source.
    public init(source: OSTreeDeploymentSource, knownBooted: BootedIdentity? = nil) {
        self.source = source
        self.knownBooted = knownBooted
    }

    /// libostree cannot drop another process's staged deployment safely from here: refuse, so the caller fails safe.
    public func clearStaged() async throws {
        throw RollbackError("the ostree driver cannot clear a staged deployment; remove it with `ostree admin undeploy` or use the rpm-ostree driver")
    }

    /// Moves `to` first, then verifies by reading the sysroot again.
    public func rollback(from: Assessment.Release, to: Assessment.Release) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Self.queue.async { continuation.resume(with: Result { try perform(to: to) }) }
        }
    }

    private static let queue = DispatchQueue(label: "rearguard.ostree-rollback")

    private func perform(to: Assessment.Release) throws {
        let before = try source.readSnapshot(knownBooted: knownBooted)
        if before.staged != nil {
            throw RollbackError("a staged deployment is present in \(source.sysroot); clear it first")
        }
        guard let osname = before.booted?.osname,
              let target = before.deployments.first(where: { $0.osname == osname && $0.checksum == to.checksum && !$0.isStaged })
        else {
            throw RollbackError("rollback target \(to.label) is not a deployment of the booted stateroot in \(source.sysroot)")
        }
        let sysroot = try Sysroot(path: source.sysroot)
        try sysroot.moveToFront(osname: target.osname, checksum: target.checksum, serial: target.serial)
        // The rewrite removed the boot links the running kernel's ostree= names: keep the booted identity read before.
        let after = try source.readSnapshot(knownBooted: before.booted.map(BootedIdentity.init))
        guard let first = after.deployments.first(where: { !$0.isStaged }), first.checksum == to.checksum else {
            throw RollbackError("after writing, sysroot \(source.sysroot) does not boot \(to.label) first")
        }
    }
}
