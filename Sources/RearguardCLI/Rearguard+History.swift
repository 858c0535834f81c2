import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard history`: assessed boots and decisions, newest first.
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the boots the agent assessed and the decisions it made, newest first.")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            let history = try await agent.ask { try await $0.history() }
            if agent.json {
                try agent.printJSON(history)
            } else {
                print(AgentRenderer.history(history), terminator: "")
            }
        }
    }
}
