import Foundation

/// A throwaway tree of drop-in folders for one test, removed on deinit.
final class ConfigFixture {
    let root: String
    init() {
        root = NSTemporaryDirectory() + "rearguard-config-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The folder `name` (created), e.g. `usr` for the vendor layer.
    func dir(_ name: String) -> String {
        let path = root + "/" + name
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `text` to `dir/file`.
    @discardableResult
    func write(_ dir: String, _ file: String, _ text: String) -> String {
        let path = self.dir(dir) + "/" + file
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Makes `dir/file` a symlink to `target`.
    func link(_ dir: String, _ file: String, to target: String) {
        try? FileManager.default.createSymbolicLink(atPath: self.dir(dir) + "/" + file, withDestinationPath: target)
    }
}
