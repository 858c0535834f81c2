import Dispatch
import FoundationEssentials
import Posix
import SystemPackage
import OSTree
import RearguardCore

/// A deployment's identity that survives boot-order rewrites: its stateroot and `CHECKSUM.SERIAL` folder.
public struct BootedIdentity: Sendable, Equatable, Codable {
    /// The stateroot.
    public var osname: String
    /// The commit checksum.
    public var checksum: String
    /// The deploy serial.
    public var serial: Int

    /// Creates an identity.
    public init(osname: String, checksum: String, serial: Int) {
        self.osname = osname
        self.checksum = checksum
        self.serial = serial
    }

    /// The identity of a listed deployment.
    public init(_ deployment: DeploymentInfo) {
        self.init(osname: deployment.osname, checksum: deployment.checksum, serial: deployment.serial)
    }

    /// The identity of a deployment as libostree describes it.
    init(_ deployment: Deployment) {
        self.init(osname: deployment.osname, checksum: deployment.checksum, serial: deployment.serial)
    }
}

/// Reads deployments through libostree: the booted one from libostree when it knows it, else from the kernel
/// command line's `ostree=`; the staged one from the host's `/run` when libostree does not load it.
public struct OSTreeDeploymentSource: DeploymentSource {
    /// The sysroot path (`/sysroot` in the container, `/` on the host).
    public var sysroot: String
    /// The file holding the kernel command line (the host's `/proc/cmdline`).
    public var cmdline: String
    /// The host's `/run`, where libostree keeps the staged-deployment state.
    public var run: String

    /// Creates a source for the given paths.
    public init(sysroot: String, cmdline: String, run: String) {
        self.sysroot = sysroot
        self.cmdline = cmdline
        self.run = run
    }

    /// The container layout mounts the host's `/boot` at `/sysroot/boot`; on the host itself the sysroot is `/`.
    public static func defaultSysroot(fileManager: FileManager = .default) -> String {
        fileManager.fileExists(atPath: "/sysroot/boot/loader") ? "/sysroot" : "/"
    }

    /// Reads the deployments on a dedicated queue: libostree blocks on disk I/O (STYLE C6).
    public func snapshot() async throws -> DeploymentSnapshot {
        try await snapshot(knownBooted: nil)
    }

    /// `readSnapshot(knownBooted:)` on the dedicated queue, for callers on Swift's cooperative pool.
    public func snapshot(knownBooted: BootedIdentity?) async throws -> DeploymentSnapshot {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try readSnapshot(knownBooted: knownBooted) }) }
        }
    }

    private static let queue = DispatchQueue(label: "rearguard.ostree")

    /// The blocking read. `knownBooted` is the booted deployment as identified earlier in this boot: once the boot
    /// order is rewritten (a rollback before its reboot), libostree removes the boot links that the running kernel's
    /// `ostree=` names, so the identity resolved at the start of the boot is the one to keep using.
    public func readSnapshot(knownBooted: BootedIdentity? = nil) throws(OSTreeError) -> DeploymentSnapshot {
        let root = try Sysroot(path: sysroot)
        try root.load()
        var deployments = try root.deployments()
        guard !deployments.isEmpty else {
            let loader = FilePath(sysroot).appending("boot/loader").string
            let hint = FileManager.default.fileExists(atPath: loader)
                ? "" : " (no boot/loader: is the host's /boot mounted at \(FilePath(sysroot).appending("boot").string)?)"
            throw OSTreeError(.noDeployments, "sysroot \(sysroot) has no deployments\(hint)")
        }

        // The booted deployment must be one the sysroot lists (never a staged one).
        func isListed(_ identity: BootedIdentity) -> Bool {
            deployments.contains { !$0.isStaged && BootedIdentity($0) == identity }
        }
        let booted: BootedIdentity?
        let source: BootedSource
        if let native = try root.libostreeBootedDeployment() {
            booted = BootedIdentity(native)
            source = .libostree
        } else if let knownBooted {
            guard isListed(knownBooted) else {
                throw OSTreeError(
                    .bootedNotFound,
                    "booted deployment \(knownBooted.checksum).\(knownBooted.serial) is no longer listed by sysroot \(sysroot)")
            }
            booted = knownBooted
            source = .kernelCommandLine(cmdline)
        } else if let argument = try BootArgument.find(inCommandLine: try readCommandLine(), source: cmdline) {
            let resolved = try root.resolve(argument)
            let identity = BootedIdentity(osname: resolved.osname, checksum: resolved.checksum, serial: resolved.serial)
            guard isListed(identity) else {
                throw OSTreeError(
                    .bootedNotFound,
                    "ostree=\(argument.path) in \(cmdline) names \(resolved.checksum).\(resolved.serial), which sysroot \(sysroot) does not list")
            }
            booted = identity
            source = .kernelCommandLine(cmdline)
        } else {
            booted = nil
            source = .none
        }

        if !deployments.contains(where: \.isStaged), let staged = try root.stagedDeployment(runDirectory: run) {
            // libostree puts a staged deployment first, at index 0, and the rest after it.
            deployments = [staged] + deployments.map { var d = $0; d.index += 1; return d }
        }

        let infos = deployments.map { d in
            DeploymentInfo(
                index: d.index, osname: d.osname, checksum: d.checksum, serial: d.serial, version: d.version,
                timestamp: d.timestamp, origin: d.origin, isPinned: d.isPinned, isStaged: d.isStaged,
                isBooted: !d.isStaged && booted == BootedIdentity(d),
                unlocked: d.unlocked.rawValue, isFinalizationLocked: d.isFinalizationLocked)
        }
        return DeploymentSnapshot(deployments: infos, bootedSource: source)
    }

    private func readCommandLine() throws(OSTreeError) -> String {
        var isDirectory: Bool = false
        guard FileManager.default.fileExists(atPath: cmdline, isDirectory: &isDirectory) else {
            throw OSTreeError(.notFound, "kernel command line \(cmdline) does not exist")
        }
        // Read to the end whatever stat says: /proc/cmdline reports size 0.
        guard !isDirectory, let bytes = FileIO.read(cmdline), let text = String(validating: bytes, as: UTF8.self) else {
            throw OSTreeError(.unreadable, "cannot read kernel command line \(cmdline)")
        }
        return text
    }
}
