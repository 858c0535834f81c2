import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard explain`: what the agent would do now, and why.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say what the agent would do next and why.",
            discussion: "Exits like status: 0 good, 1 unhealthy, 3 not decided yet, 69 agent unreachable.")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            let explanation = try await agent.ask { try await $0.explain() }
            if agent.json {
                try agent.printJSON(explanation)
            } else {
                print(AgentRenderer.explain(explanation), terminator: "")
            }
            let code = AgentExit.code(for: explanation.state)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
