import ArgumentParser
import RearguardAPI
import RearguardCore

extension Rearguard {
    /// `rearguard mode observe|enforce`: whether the agent acts on its decisions.
    struct Mode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Switch the running agent between enforce and observe (root only).",
            discussion: "observe: every decision is made and shown, none is acted on. Kept until changed again.")

        @Argument(help: "enforce or observe.")
        var mode: String

        @OptionGroup var agent: AgentOptions

        func validate() throws {
            guard AssessmentMode(rawValue: mode) != nil else { throw ValidationError("mode must be enforce or observe") }
        }

        func run() async throws {
            guard let chosen = AssessmentMode(rawValue: mode) else { throw ExitCode.validationFailure }
            let status = try await agent.ask { try await $0.setMode(chosen) }
            if agent.json {
                try agent.printJSON(status)
            } else {
                print("mode \(status.mode)")
                print(AgentRenderer.verdict(status))
            }
        }
    }
}
