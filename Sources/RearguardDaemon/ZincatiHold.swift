import FoundationEssentials
import SystemPackage

/// Holds Zincati with a runtime drop-in `<zincati_config_dir>/99-rearguard-hold.toml` (`[updates] enabled = false`).
///
/// Why `/run`: after a rollback the node runs the previous deployment, whose `/etc` never saw anything written while
/// the bad one was booted, and `/sysroot` is read-only. So the hold lives in Rearguard's state under `/var` (shared
/// by all deployments) and is asserted again every boot into the host's `/run/zincati/config.d`, which Zincati reads
/// and which starts empty each boot. The name sorts after the usual admin drop-ins, so it wins.
public struct ZincatiHold: Sendable {
    /// The drop-in's file name.
    public static let fileName = "99-rearguard-hold.toml"
    /// What the drop-in says.
    public static let contents = """
        # Written by Rearguard: updates are held after a rollback or by an admin.
        # `rearguard release` removes it. Do not edit: it is rewritten every boot while the hold lasts.
        [updates]
        enabled = false

        """

    /// The folder Zincati reads runtime drop-ins from (the host's `/run/zincati/config.d`).
    public var directory: String

    /// Creates a hold writer for a folder.
    public init(directory: String) {
        self.directory = directory
    }

    /// The drop-in's full path.
    public var path: String { FilePath(directory).appending(Self.fileName).string }

    /// Writes the drop-in atomically (temp file, fsync, rename), creating the folder when missing.
    public func assert() throws {
        if let existing = FileManager.default.contents(atPath: path), existing == Data(Self.contents.utf8) { return }
        try FileStateStore.writeAtomically(Data(Self.contents.utf8), to: path)
    }

    /// Removes the drop-in; a missing one is fine.
    public func release() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    /// Whether the drop-in is in place.
    public var isAsserted: Bool { FileManager.default.fileExists(atPath: path) }
}
