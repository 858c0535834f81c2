import ArgumentParser
import Foundation
import RearguardCore

extension Rearguard {
    /// `rearguard config`: configuration tools.
    public struct Config: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Inspect the configuration.", subcommands: [Validate.self])
        public init() {}
    }
}

extension Rearguard.Config {
    /// `rearguard config validate`: print the effective config, or every error (exit 1).
    public struct Validate: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Read and merge the drop-ins; print the effective config or the errors.")

        @Option(name: .customLong("config-dir"), help: "Read drop-ins from DIR instead of the default folders (repeatable).")
        var configDirs: [String] = []

        public init() {}

        public func run() async throws {
            do {
                let settings = try ConfigLoader.load(directories: configDirs.isEmpty ? ConfigLoader.defaultDirectories : configDirs)
                print(settings.renderTOML(), terminator: "")
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode.failure
            }
        }
    }
}
