import FoundationEssentials

/// One deployment as libostree describes it: plain values, safe to keep and send anywhere.
public struct Deployment: Sendable, Equatable {
    /// How a deployment was unlocked (`ostree admin unlock`), as libostree names it.
    public enum Unlocked: String, Sendable, Equatable {
        case none, development, hotfix, transient
    }

    /// Position in boot order (`ostree_deployment_get_index`); a staged deployment comes first.
    public var index: Int
    /// The stateroot (osname), e.g. `fedora-coreos`.
    public var osname: String
    /// The commit checksum (`ostree_deployment_get_csum`).
    public var checksum: String
    /// The deploy serial (`ostree_deployment_get_deployserial`).
    public var serial: Int
    /// The boot checksum (`ostree_deployment_get_bootcsum`).
    public var bootChecksum: String
    /// The commit's `version` metadata, when it has one.
    public var version: String?
    /// The commit's timestamp, when the commit object is in the repo.
    public var timestamp: Date?
    /// `[origin] refspec` or `container-image-reference`, when the origin has one.
    public var origin: String?
    /// Pinned deployments are never garbage-collected.
    public var isPinned: Bool
    /// A staged deployment is finalized at the next shutdown.
    public var isStaged: Bool
    /// The staged deployment's finalization is locked (`deploy --lock-finalization`).
    public var isFinalizationLocked: Bool
    /// Unlock state of the deployment's `/usr`.
    public var unlocked: Unlocked

    /// The deployment's directory name below `ostree/deploy/OSNAME/deploy/`: `CHECKSUM.SERIAL`.
    public var directoryName: String { "\(checksum).\(serial)" }
}
