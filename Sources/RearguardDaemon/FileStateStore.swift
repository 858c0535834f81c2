import FoundationEssentials
import Posix
import SystemPackage
import RearguardAPI
import RearguardCore

#if canImport(Glibc)
import Glibc
#endif

/// The state file (`<state_dir>/state.json`): JSON with a `schema_version`, written to a temp file in the same
/// folder, fsynced, renamed over the old one, and the folder fsynced (STYLE S2), so a crash or power loss at any
/// point leaves either the old or the new file, never a torn one.
public struct FileStateStore: StateStore {
    /// The schema this agent writes and reads.
    public static let schemaVersion = 1

    /// The state file's path.
    public let path: String

    /// Creates a store for a file path.
    public init(path: String) {
        self.path = path
    }

    /// The agent's store: `state.json` in `[host] state_dir`.
    public init(stateDirectory: String) {
        self.init(path: FilePath(stateDirectory).appending("state.json").string)
    }

    private struct Header: Decodable { var schemaVersion: Int }
    private struct Document: Codable {
        var schemaVersion: Int
        var memory: AssessmentMemory
    }

    /// Reads the file: header first, then the document of that schema.
    public func load() async -> StateLoad {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            // A file set aside earlier is memory not yet reviewed: starting fresh would forget past rollbacks.
            if let aside = keptAside() {
                return .corrupt(keptAs: aside, reason: "an earlier state file was unusable and is kept aside")
            }
            return .fresh
        }
        // A symlink (to /etc/passwd, say) or anything but a plain file is never read as state: it is moved aside
        // (the link itself, never its target) and the agent only observes until an admin has looked.
        guard info.st_mode & S_IFMT == S_IFREG else {
            let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
            return keepAside(reason: "\(path) is \(what), never read as state")
        }
        let decoder = RearguardJSON.decoder()
        guard let data = Self.readRegularFile(path) else {
            return keepAside(reason: "cannot read \(path)")
        }
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            return keepAside(reason: "no readable schema_version in \(path): \(Self.describe(error))")
        }
        guard header.schemaVersion == Self.schemaVersion else {
            if header.schemaVersion > Self.schemaVersion { return .unsupported(schemaVersion: header.schemaVersion) }
            return keepAside(reason: "unknown schema_version \(header.schemaVersion) in \(path)")
        }
        do {
            return .loaded(try decoder.decode(Document.self, from: data).memory)
        } catch {
            return keepAside(reason: "cannot decode \(path): \(Self.describe(error))")
        }
    }

    /// Reads the memory without touching the file (a bad file stays where it is): for readers beside the agent,
    /// such as `rearguard wait-verdict`. Nil when there is no file or it is not one this agent can read.
    public func peek() -> AssessmentMemory? {
        guard let data = Self.readRegularFile(path),
              let document = try? RearguardJSON.decoder().decode(Document.self, from: data),
              document.schemaVersion == Self.schemaVersion
        else { return nil }
        return document.memory
    }

    /// Writes the memory atomically and durably.
    public func save(_ memory: AssessmentMemory) async throws {
        try saveNow(memory)
    }

    /// The same write, without leaving the caller's executor: an actor that must never let two writes of its
    /// memory overtake each other calls this.
    public func saveNow(_ memory: AssessmentMemory) throws {
        let data = try RearguardJSON.encoder(pretty: true).encode(Document(schemaVersion: Self.schemaVersion, memory: memory))
        try Self.writeAtomically(data, to: path)
    }

    /// The newest `state.json.corrupt-*` beside the state file, if any.
    private func keptAside() -> String? {
        let directory = FilePath(path).removingLastComponent().string
        let prefix = (FilePath(path).lastComponent?.string ?? "") + ".corrupt-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted().last.map { FilePath(directory).appending($0).string }
    }

    /// Moves an unusable file aside as `state.json.corrupt-<unix time>` so it is never read again nor lost.
    private func keepAside(reason: String) -> StateLoad {
        let aside = "\(path).corrupt-\(Int(Date().timeIntervalSince1970))"
        if rename(path, aside) != 0 {
            return .corrupt(keptAs: path, reason: "\(reason); could not move it aside: \(String(cString: strerror(errno)))")
        }
        return .corrupt(keptAs: aside, reason: reason)
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.keyNotFound(let key, _) = error { return "missing key \(key.stringValue)" }
        return "\(error)"
    }

    /// The contents of `path` when it is a regular file, opened without following a symlink (`O_NOFOLLOW`).
    static func readRegularFile(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileIO.readAll(fd).map { Data($0) }
    }

    /// temp file in the same folder -> write -> fsync -> rename -> fsync the folder. The temp file is created anew
    /// (`O_EXCL | O_NOFOLLOW`), so nothing planted under its name is written through; `rename` replaces a link at
    /// `path` itself, never its target.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let directory = FilePath(path).removingLastComponent().string
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temp = "\(path).tmp-\(getpid())"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateFileError(operation: "open", path: temp, errno: errno) }
        var ok = false
        defer { if !ok { unlink(temp) } }
        let code = data.withUnsafeBytes { FileIO.writeAll(fd, $0) }
        if code != 0 {
            close(fd)
            throw StateFileError(operation: "write", path: temp, errno: code)
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw StateFileError(operation: "fsync", path: temp, errno: code)
        }
        close(fd)
        guard rename(temp, path) == 0 else { throw StateFileError(operation: "rename", path: path, errno: errno) }
        ok = true
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw StateFileError(operation: "open", path: directory, errno: errno) }
        defer { close(dirfd) }
        guard fsync(dirfd) == 0 else { throw StateFileError(operation: "fsync", path: directory, errno: errno) }
    }
}

/// A failed state-file system call, with the path and errno.
public struct StateFileError: Error, Sendable, CustomStringConvertible {
    /// The system call that failed.
    public var operation: String
    /// The path it was called on.
    public var path: String
    /// The errno it set.
    public var errno: Int32

    /// `cannot <op> <path>: <strerror>`.
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
}
