import Foundation

/// A real OSTree sysroot built with `ostree admin` in a temporary folder (scripts/make-sysroot.sh).
public final class SysrootFixture {
    /// The sysroot folder.
    public let path: String
    /// A scratch folder beside it for cmdline files and a fake host /run.
    public let scratch: String

    /// Builds a sysroot with one stateroot and the given versions deployed in order (the last is first in boot order).
    public init(osname: String = "fedora-coreos", versions: [String], environment: [String: String] = [:]) async throws {
        try await Shell.require("ostree", package: "ostree")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("rearguard-test-\(UUID().uuidString)").path
        path = base + "/sysroot"
        scratch = base + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        if !versions.isEmpty { try await add(osname: osname, versions: versions, environment: environment) }
    }

    deinit {
        // Deployment folders carry the immutable attribute; clear it so the tree can go.
        let base = (path as NSString).deletingLastPathComponent
        Shell.cleanup(["chattr", "-R", "-i", base])
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Deploys more versions of a stateroot (a new osname adds a stateroot).
    public func add(osname: String, versions: [String], environment: [String: String] = [:]) async throws {
        let script = Shell.packageRoot.appendingPathComponent("scripts/make-sysroot.sh").path
        try await Shell.check([script, path, osname] + versions, environment: environment)
    }

    /// One deployment as `ostree admin status` prints it.
    public struct StatusEntry: Equatable, CustomStringConvertible {
        public var osname: String, checksum: String, serial: Int, version: String?, isPinned: Bool
        public var description: String { "\(osname) \(checksum).\(serial) v=\(version ?? "-") pinned=\(isPinned)" }
        public init(osname: String, checksum: String, serial: Int, version: String?, isPinned: Bool) {
            self.osname = osname
            self.checksum = checksum
            self.serial = serial
            self.version = version
            self.isPinned = isPinned
        }
    }

    /// `ostree admin status --sysroot=PATH`, parsed: the reference every listing is compared with.
    public func adminStatus() async throws -> [StatusEntry] {
        var entries: [StatusEntry] = []
        // Deployment lines: "[* ] OSNAME CHECKSUM.SERIAL [(flags)]"; their properties are indented by four spaces.
        for line in try await Shell.check(["ostree", "admin", "status", "--sysroot=\(path)"]).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    ") {
                guard !entries.isEmpty else { continue }
                if text.hasPrefix("Version: ") { entries[entries.count - 1].version = String(text.dropFirst("Version: ".count)) }
                if text == "Pinned: yes" { entries[entries.count - 1].isPinned = true }
                continue
            }
            let words = text.split(separator: " ").filter { $0 != "*" }
            let name = words.count >= 2 ? words[1].split(separator: ".") : []
            guard name.count == 2, let serial = Int(name[1]) else { continue }
            entries.append(StatusEntry(osname: String(words[0]), checksum: String(name[0]), serial: serial, version: nil, isPinned: false))
        }
        return entries
    }

    /// The `ostree=` value of the boot loader entry whose title names `version`.
    public func bootArgument(version: String, osname: String = "fedora-coreos") throws -> String {
        try bootArgument(naming: "\(osname) \(version)") { $0.hasPrefix("title \(osname) \(version) ") }
    }

    /// The `ostree=` value of the boot loader entry of the deployment at `index` in boot order (its title ends in
    /// `(ostree:INDEX)`): the one way to name one of two deployments of the same version.
    public func bootArgument(index: Int) throws -> String {
        try bootArgument(naming: "deployment \(index)") { $0.hasPrefix("title ") && $0.hasSuffix(" (ostree:\(index))") }
    }

    /// The `ostree=` value in the `options` line of the first loader entry whose title line `matches`.
    private func bootArgument(naming what: String, matches: (Substring) -> Bool) throws -> String {
        let entries = path + "/boot/loader/entries"
        for name in try FileManager.default.contentsOfDirectory(atPath: entries) {
            let lines = try String(contentsOfFile: entries + "/" + name, encoding: .utf8).split(separator: "\n")
            guard lines.contains(where: matches) else { continue }
            for line in lines where line.hasPrefix("options ") {
                if let arg = line.split(separator: " ").first(where: { $0.hasPrefix("ostree=") }) { return String(arg) }
            }
        }
        throw ShellError(message: "no boot loader entry for \(what) in \(entries)")
    }

    /// Deploys `checksum` once more, first in boot order, keeping every other deployment, as an admin does by hand
    /// (`ostree admin deploy --retain`).
    public func deployAgain(checksum: String, osname: String = "fedora-coreos") async throws {
        try await Shell.check(["ostree", "admin", "deploy", "--sysroot=\(path)", "--os=\(osname)", "--retain", checksum])
    }

    /// Writes a kernel command line file that boots `version` and returns its path.
    public func cmdline(booting version: String, osname: String = "fedora-coreos") throws -> String {
        try writeCmdline("BOOT_IMAGE=(hd0,gpt3)/boot/vmlinuz rw \(try bootArgument(version: version, osname: osname)) console=ttyS0")
    }

    /// Writes an arbitrary command line file and returns its path.
    public func writeCmdline(_ text: String) throws -> String {
        let file = scratch + "/cmdline-\(UUID().uuidString)"
        try (text + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Pins the deployment at `index` (`ostree admin pin`).
    public func pin(index: Int) async throws {
        try await Shell.check(["ostree", "admin", "pin", "--sysroot=\(path)", String(index)])
    }
}
