import ArgumentParser
import FoundationEssentials
import RearguardCore
import Posix

/// `--config-dir`, shared by every command that reads the config itself.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config-dir"), help: "Read drop-ins from DIR instead of the default folders (repeatable).")
    var configDirs: [String] = []

    /// The folders read: `--config-dir`, else the default ones.
    var directories: [String] { configDirs.isEmpty ? ConfigLoader.defaultDirectories : configDirs }

    /// Loads the settings; on errors prints them (after `preface`, when given) and exits with `code`.
    func load(exitingWith code: ExitCode, preface: String? = nil) throws -> Settings {
        do {
            return try ConfigLoader.load(directories: directories)
        } catch {
            FileIO.write(((preface.map { $0 + "\n" } ?? "") + error.description + "\n"))
            throw code
        }
    }
}
