import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard recheck`: the agent runs every check now; the results are printed.
    struct Recheck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have the running agent run every check now and print the results (root only).",
            discussion: "Exits 1 when a required check fails, 69 when the agent cannot be reached.")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            // A round takes as long as its slowest check's deadline.
            let checks = try await agent.ask({ try await $0.runChecks() }, timeout: .seconds(300))
            if agent.json {
                try agent.printJSON(checks)
            } else {
                print(AgentRenderer.checks(checks.checks), terminator: "")
            }
            if checks.checks.contains(where: { $0.required && $0.last?.isPassing != true }) { throw ExitCode.failure }
        }
    }
}
