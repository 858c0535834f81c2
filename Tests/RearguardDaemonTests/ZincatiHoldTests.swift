import Foundation
import RearguardDaemon
import Testing

/// The Zincati hold drop-in on a real filesystem.
@Suite struct ZincatiHoldTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rearguard-zincati-\(UUID().uuidString)/zincati/config.d").path

    @Test func assertWritesADropInThatDisablesUpdatesAndSortsLast() throws {
        let hold = ZincatiHold(directory: dir)
        try hold.assert()
        #expect(hold.isAsserted && hold.path.hasSuffix("/zincati/config.d/99-rearguard-hold.toml"))
        let text = try String(contentsOfFile: hold.path, encoding: .utf8)
        #expect(text.contains("[updates]\nenabled = false\n"))
        #expect(["10-updates-strategy.toml", "55-updates-strategy.toml", hold.path.split(separator: "/").last.map(String.init) ?? ""].sorted().last == "99-rearguard-hold.toml")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["99-rearguard-hold.toml"])
    }

    @Test func assertIsIdempotentAndReleaseRemovesIt() throws {
        let hold = ZincatiHold(directory: dir)
        try hold.assert()
        try hold.assert()
        try hold.release()
        #expect(!hold.isAsserted)
        try hold.release()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func anUnwritableFolderIsAnError() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("rearguard-zincati-file-\(UUID().uuidString)").path
        try Data().write(to: URL(fileURLWithPath: base))
        #expect(throws: (any Error).self) { try ZincatiHold(directory: base + "/config.d").assert() }
    }
}
