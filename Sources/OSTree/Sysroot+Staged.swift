internal import COSTree
import FoundationEssentials
import SystemPackage

extension Sysroot {
    /// Reads the host's staged deployment from `RUN/ostree/staged-deployment`, the `a{sv}` GVariant file libostree
    /// writes when it stages (libostree reads it itself only when this sysroot is the running root). Locked
    /// finalization is the `locked` key (newer libostree) or the `staged-deployment-locked` file beside it (older).
    /// Returns nil when nothing is staged.
    public func stagedDeployment(runDirectory: String) throws(OSTreeError) -> Deployment? {
        let file = FilePath(runDirectory).appending("ostree/staged-deployment").string
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw OSTreeError(.unreadable, "cannot read staged deployment state \(file)")
        }
        let target = try parseStagedState(data, file: file)
        let directory = deploymentDirectory(osname: target.osname, checksum: target.checksum, serial: target.serial)
        guard FileManager.default.fileExists(atPath: directory) else {
            throw OSTreeError(
                .badStagedState,
                "staged deployment \(target.checksum).\(target.serial) named by \(file) does not exist under \(path)")
        }
        let (version, timestamp) = commitFacts(target.checksum)
        return Deployment(
            index: 0, osname: target.osname, checksum: target.checksum, serial: target.serial,
            bootChecksum: target.bootChecksum, version: version, timestamp: timestamp,
            origin: origin(ofDeploymentDirectory: directory), isPinned: false, isStaged: true,
            isFinalizationLocked: target.isLocked || FileManager.default.fileExists(atPath: file + "-locked"),
            unlocked: .none)
    }

    private struct StagedTarget {
        var osname: String, checksum: String, serial: Int, bootChecksum: String, isLocked: Bool
    }

    /// Parses `{"target": {"name": "CSUM.SERIAL", "osname": ..., "bootcsum": ...}, "locked": b}`.
    private func parseStagedState(_ data: Data, file: String) throws(OSTreeError) -> StagedTarget {
        let bad = { (why: String) in OSTreeError(.badStagedState, "staged deployment state \(file) \(why)") }
        // g_bytes_new copies the data; g_variant_new_from_bytes with trusted=FALSE validates on access.
        let bytes = data.withUnsafeBytes { lib.g_bytes_new($0.baseAddress, gsize($0.count)) }
        defer { lib.g_bytes_unref(bytes) }
        let type = lib.g_variant_type_new("a{sv}")
        defer { lib.g_variant_type_free(type) }
        // g_variant_new_from_bytes: (transfer none) floating reference; sink it to own it.
        guard let state = lib.g_variant_new_from_bytes(type, bytes, 0).flatMap({ lib.g_variant_ref_sink($0) }) else {
            throw bad("is not a GVariant a{sv}")
        }
        defer { lib.g_variant_unref(state) }
        let dict = GVariantDict(lib: lib)
        guard let target = dict.lookup(state, "target", type: "a{sv}") else {
            throw bad("has no target")
        }
        defer { lib.g_variant_unref(target) }
        guard let name = dict.string(target, "name"),
              let osname = dict.string(target, "osname"),
              let bootChecksum = dict.string(target, "bootcsum")
        else { throw bad("lacks name, osname or bootcsum") }
        guard let (checksum, serial) = Self.parseDeploymentName(name) else {
            throw bad("names '\(name)', not CHECKSUM.SERIAL")
        }
        return StagedTarget(
            osname: osname, checksum: checksum, serial: serial, bootChecksum: bootChecksum,
            isLocked: dict.bool(state, "locked") ?? false)
    }

    /// Splits `CHECKSUM.SERIAL`; exposed for tests.
    public static func parseDeploymentNameForTesting(_ name: String) -> (String, Int)? { parseDeploymentName(name) }

    /// Splits a deployment directory name `CHECKSUM.SERIAL` (64 hex digits, a dot, a number).
    static func parseDeploymentName(_ name: String) -> (String, Int)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit),
              let serial = Int(parts[1]), serial >= 0
        else { return nil }
        return (String(parts[0]), serial)
    }

    /// The origin reference from `DEPLOYDIR.origin`, the key file libostree keeps beside each deployment.
    func origin(ofDeploymentDirectory directory: String) -> String? {
        let keyFile = lib.g_key_file_new()
        defer { lib.g_key_file_free(keyFile) }
        var error: UnsafeMutablePointer<GError>?
        guard let keyFile, lib.g_key_file_load_from_file(keyFile, directory + ".origin", G_KEY_FILE_NONE, &error) != 0 else {
            if let error { lib.g_error_free(error) }
            return nil
        }
        return originReference(keyFile)
    }
}
