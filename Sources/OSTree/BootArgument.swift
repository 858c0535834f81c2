import FoundationEssentials
import SystemPackage

/// The kernel's `ostree=/ostree/boot.V/OSNAME/BOOTCSUM/SERIAL` argument, which names the booted deployment.
public struct BootArgument: Sendable, Equatable {
    /// The argument's value, e.g. `/ostree/boot.1/fedora-coreos/<bootcsum>/0`.
    public var path: String
    /// The stateroot named in the path.
    public var osname: String

    /// Finds the `ostree=` argument in a kernel command line; nil when there is none (not an OSTree boot).
    public static func find(inCommandLine commandLine: String, source: String) throws(OSTreeError) -> BootArgument? {
        let values = commandLine.split(whereSeparator: \.isWhitespace)
            .filter { $0.hasPrefix("ostree=") }
            .map { String($0.dropFirst("ostree=".count)) }
        guard let value = values.first else { return nil }
        guard Set(values).count == 1 else {
            throw OSTreeError(.badBootArgument, "\(source) has \(values.count) different ostree= arguments")
        }
        // Same shape libostree accepts: /ostree/boot.[01]/OSNAME/BOOTCSUM/SERIAL.
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].isEmpty, parts[1] == "ostree",
              parts[2] == "boot.0" || parts[2] == "boot.1",
              !parts[3].isEmpty, !parts[4].isEmpty, Int(parts[5]) != nil
        else {
            throw OSTreeError(
                .badBootArgument,
                "\(source) has ostree=\(value), expected ostree=/ostree/boot.V/OSNAME/BOOTCSUM/SERIAL")
        }
        return BootArgument(path: value, osname: String(parts[3]))
    }
}

extension Sysroot {
    /// Resolves a boot argument the way libostree does: the path is a symlink under the sysroot whose target's
    /// last component is the deployment's `CHECKSUM.SERIAL` folder. Returns (osname, checksum, serial).
    public func resolve(_ argument: BootArgument) throws(OSTreeError) -> (osname: String, checksum: String, serial: Int) {
        let link = FilePath(path).appending(String(argument.path.dropFirst())).string
        let target: String
        do {
            target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        } catch {
            throw OSTreeError(.bootedNotFound, "ostree=\(argument.path) resolves to nothing under sysroot \(path)")
        }
        guard let (checksum, serial) = Self.parseDeploymentName((FilePath(target).lastComponent?.string ?? "")) else {
            throw OSTreeError(
                .bootedNotFound, "ostree=\(argument.path) under sysroot \(path) points at \(target), not a deployment")
        }
        let directory = deploymentDirectory(osname: argument.osname, checksum: checksum, serial: serial)
        guard FileManager.default.fileExists(atPath: directory) else {
            throw OSTreeError(
                .bootedNotFound, "ostree=\(argument.path) names deployment \(checksum).\(serial), missing under \(path)")
        }
        return (argument.osname, checksum, serial)
    }
}
