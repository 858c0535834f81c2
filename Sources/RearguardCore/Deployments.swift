import FoundationEssentials

/// What a deployment is to the running system, computed from the booted one (never from libostree's
/// `query_deployments_for`, which answers wrongly for a sysroot that is not the running root).
public enum DeploymentRole: String, Sendable, Codable, CaseIterable {
    /// The deployment the node runs now.
    case booted
    /// Same stateroot, ordered before the booted one: it boots next.
    case pending
    /// Same stateroot, the first one after the booted one: what a rollback would boot.
    case rollback
    /// Staged by Zincati/rpm-ostree, finalized at the next shutdown.
    case staged
    /// Anything else (another stateroot, older entries, or no booted deployment known).
    case other
}

/// One deployment as Rearguard reports it (JSON keys are snake_case; missing values are `null`).
public struct DeploymentInfo: Sendable, Equatable, Codable {
    /// Position in boot order.
    public var index: Int
    /// The stateroot.
    public var osname: String
    /// The commit checksum.
    public var checksum: String
    /// The deploy serial.
    public var serial: Int
    /// The commit's `version` metadata.
    public var version: String?
    /// The commit timestamp.
    public var timestamp: Date?
    /// The origin's refspec or container image reference.
    public var origin: String?
    /// Never garbage-collected.
    public var isPinned: Bool
    /// Finalized at the next shutdown.
    public var isStaged: Bool
    /// The node runs it now.
    public var isBooted: Bool
    /// `none`, `development`, `hotfix` or `transient`.
    public var unlocked: String
    /// A staged deployment whose finalization is locked (Zincati waits for its reboot window).
    public var isFinalizationLocked: Bool
    /// Its role relative to the booted deployment.
    public var role: DeploymentRole

    /// Creates a deployment description; `role` starts as `.other` until `DeploymentSnapshot` assigns roles.
    public init(
        index: Int, osname: String, checksum: String, serial: Int, version: String?, timestamp: Date?,
        origin: String?, isPinned: Bool, isStaged: Bool, isBooted: Bool, unlocked: String = "none",
        isFinalizationLocked: Bool = false, role: DeploymentRole = .other
    ) {
        self.index = index
        self.osname = osname
        self.checksum = checksum
        self.serial = serial
        self.version = version
        self.timestamp = timestamp
        self.origin = origin
        self.isPinned = isPinned
        self.isStaged = isStaged
        self.isBooted = isBooted
        self.unlocked = unlocked
        self.isFinalizationLocked = isFinalizationLocked
        self.role = role
    }

    enum CodingKeys: String, CodingKey {
        case index, osname, checksum, serial, version, timestamp, origin, unlocked, role
        case isPinned = "pinned", isStaged = "staged", isBooted = "booted"
        case isFinalizationLocked = "finalizationLocked"
    }

    /// Encodes every key, writing `null` for missing values so consumers see a fixed shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(osname, forKey: .osname)
        try c.encode(checksum, forKey: .checksum)
        try c.encode(serial, forKey: .serial)
        try c.encode(version, forKey: .version)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(origin, forKey: .origin)
        try c.encode(isPinned, forKey: .isPinned)
        try c.encode(isStaged, forKey: .isStaged)
        try c.encode(isBooted, forKey: .isBooted)
        try c.encode(unlocked, forKey: .unlocked)
        try c.encode(isFinalizationLocked, forKey: .isFinalizationLocked)
        try c.encode(role, forKey: .role)
    }

    /// `CHECKSUM.SERIAL`, the deployment's folder name and a unique key within a stateroot.
    public var directoryName: String { "\(checksum).\(serial)" }
}

/// How the booted deployment was identified.
public enum BootedSource: Sendable, Equatable {
    /// libostree knew it (the sysroot is the running root).
    case libostree
    /// The `ostree=` argument of this kernel command line file named it.
    case kernelCommandLine(String)
    /// Not an OSTree boot: nothing is booted from this sysroot.
    case none
}

/// The deployments of a sysroot in boot order, with roles.
public struct DeploymentSnapshot: Sendable, Equatable {
    /// Deployments in boot order (staged first), each with its role.
    public private(set) var deployments: [DeploymentInfo]
    /// How the booted deployment was found.
    public var bootedSource: BootedSource

    /// Orders nothing (boot order is the source's) and assigns every role from the booted deployment.
    public init(deployments: [DeploymentInfo], bootedSource: BootedSource) {
        self.deployments = Self.assigningRoles(deployments)
        self.bootedSource = bootedSource
    }

    /// The deployment the node runs now, if known.
    public var booted: DeploymentInfo? { deployments.first { $0.role == .booted } }
    /// The deployment that boots next when it is not the booted one.
    public var pending: DeploymentInfo? { deployments.first { $0.role == .pending } }
    /// The deployment a rollback would boot.
    public var rollback: DeploymentInfo? { deployments.first { $0.role == .rollback } }
    /// The staged deployment, if any.
    public var staged: DeploymentInfo? { deployments.first { $0.role == .staged } }

    /// The role rule: for the booted deployment's stateroot, `pending` is the first deployment ordered before the
    /// booted one, `rollback` the first after it; a staged one is `staged`; everything else `other`.
    static func assigningRoles(_ input: [DeploymentInfo]) -> [DeploymentInfo] {
        let bootedPosition = input.firstIndex { $0.isBooted && !$0.isStaged }
        var result = input
        var seenPending = false
        var seenRollback = false
        for position in result.indices {
            let entry = result[position]
            let role: DeploymentRole
            if entry.isStaged {
                role = .staged
            } else if let bootedPosition, position == bootedPosition {
                role = .booted
            } else if let bootedPosition, entry.osname == input[bootedPosition].osname {
                if position < bootedPosition, !seenPending {
                    seenPending = true
                    role = .pending
                } else if position > bootedPosition, !seenRollback {
                    seenRollback = true
                    role = .rollback
                } else {
                    role = .other
                }
            } else {
                role = .other
            }
            result[position].role = role
            result[position].isBooted = role == .booted
        }
        return result
    }
}

/// Core's port to the OS deployments (implemented over libostree).
public protocol DeploymentSource: Sendable {
    /// Reads the deployments now; throws when the sysroot or the boot argument cannot be trusted.
    func snapshot() async throws -> DeploymentSnapshot
}
