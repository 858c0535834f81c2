import Foundation
import RearguardCore
import RearguardDaemon
import Testing

/// The state file on a real filesystem.
@Suite struct FileStateStoreTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rearguard-state-\(UUID().uuidString)").path
    var path: String { dir + "/state.json" }

    func sampleMemory() -> AssessmentMemory {
        var a = Assessment(policy: Assessment.Policy(soak: 0))
        let good = Assessment.Release(checksum: String(repeating: "a", count: 64), version: "42.1")
        _ = a.handle(.started(Assessment.Boot(bootID: "b1", booted: good, rollback: nil, defaultChecksum: good.checksum, hasStaged: false), at: Date(timeIntervalSince1970: 1_764_000_000)))
        _ = a.handle(.checks(.passing, at: Date(timeIntervalSince1970: 1_764_000_000)))
        return a.memory
    }

    func leftovers() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    @Test func aMissingFileIsAFreshStart() async {
        let load = await FileStateStore(path: path).load()
        #expect(load == .fresh && load.isTrustworthy)
    }

    @Test func savedMemoryLoadsBackWithASchemaVersionAndNoTempFiles() async throws {
        let store = FileStateStore(path: path)
        let memory = sampleMemory()
        try await store.save(memory)
        try await store.save(memory)
        #expect(await store.load() == .loaded(memory))
        #expect(try leftovers() == ["state.json"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"schema_version\" : 1") && text.contains("\"known_good\""))
    }

    @Test(arguments: ["{\"schema_version\": 1, \"memory\": {\"known_go", "", "not json", "{\"memory\": {}}", "{\"schema_version\": 0, \"memory\": {}}"])
    func aCorruptOrTruncatedFileIsKeptAsideAndNotTrusted(_ content: String) async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        let load = await FileStateStore(path: path).load()
        guard case .corrupt(let aside, let reason) = load else {
            Issue.record("expected corrupt, got \(load)")
            return
        }
        #expect(!load.isTrustworthy && load.memory == AssessmentMemory())
        #expect(aside.hasPrefix(path + ".corrupt-") && reason.contains(path))
        #expect(try String(contentsOfFile: aside, encoding: .utf8) == content)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aNewerSchemaIsLeftUntouchedAndNotTrusted() async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let content = "{\"schema_version\": 7, \"whatever\": true}"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        let load = await FileStateStore(path: path).load()
        #expect(load == .unsupported(schemaVersion: 7) && !load.isTrustworthy)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == content)
    }

    @Test func aKilledWriterLeavesTheOldFileIntact() async throws {
        let store = FileStateStore(path: path)
        let memory = sampleMemory()
        try await store.save(memory)
        // A writer killed after creating its temp file, before the rename.
        try Data("{\"schema_version\": 1, \"mem".utf8).write(to: URL(fileURLWithPath: path + ".tmp-99999"))
        #expect(await store.load() == .loaded(memory))
    }

    @Test func anUnwritableFolderIsAnErrorNamingThePath() async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: dir + "/file"))
        let error = await #expect(throws: (any Error).self) { try await FileStateStore(path: dir + "/file/state.json").save(AssessmentMemory()) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(dir + "/file"))
    }
}
