import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard status`: what the running agent sees, verdict first.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the running agent's verdict, the deployments, the checks and the last decision.",
            discussion: "Exits 0 when good, 1 when failing, rolling back, rolled back or quarantined, 3 when not decided yet "
                + "(first boot, probation), 69 when the agent cannot be reached.")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            let status = try await agent.ask { try await $0.status() }
            if agent.json {
                try agent.printJSON(status)
            } else {
                print(AgentRenderer.status(status), terminator: "")
            }
            let code = AgentExit.code(for: status.state)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
