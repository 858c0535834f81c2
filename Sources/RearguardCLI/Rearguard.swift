import ArgumentParser

/// The `rearguard` root command.
public struct Rearguard: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rearguard",
        abstract: "Keeps a Fedora CoreOS node's network services alive through OS updates.",
        subcommands: [Check.self, Config.self])
    public init() {}
}

extension Rearguard {
    /// Parses the command line and runs the chosen command, awaiting async subcommands.
    // `await Rearguard.main()` in a main.swift resolves to ParsableCommand's synchronous main,
    // which refuses async subcommands; this is what AsyncParsableCommand.main does.
    public static func start() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
