import ArgumentParser

/// The `rearguard` root command.
public struct Rearguard: AsyncParsableCommand {
    /// Subcommands live in `Rearguard+<Name>.swift`, one file each (STYLE U1).
    public static let configuration = CommandConfiguration(
        commandName: "rearguard",
        abstract: "Keeps a Fedora CoreOS node's network services alive through OS updates.",
        subcommands: [
            Run.self, Status.self, History.self, Explain.self, Recheck.self, Hold.self, Release.self, Mode.self,
            WaitVerdict.self, Deployments.self, Units.self, Check.self, Config.self,
        ])

    /// Creates the root command.
    public init() {}
}

extension Rearguard {
    /// Parses the process arguments and runs the chosen command, awaiting async ones. The executable calls this
    /// because a `main()` call from another module resolves to ParsableCommand's synchronous overload.
    public static func runAsRoot(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
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
