import ArgumentParser
import FoundationEssentials
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

        @OptionGroup var config: ConfigOptions

        public init() {}

        public func run() async throws {
            print(try config.load(exitingWith: .failure).renderTOML(), terminator: "")
        }
    }
}
