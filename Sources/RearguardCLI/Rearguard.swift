import ArgumentParser

/// The `rearguard` root command.
public struct Rearguard: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rearguard",
        abstract: "Keeps a Fedora CoreOS node's network services alive through OS updates.",
        subcommands: [Units.self])
    public init() {}
}
