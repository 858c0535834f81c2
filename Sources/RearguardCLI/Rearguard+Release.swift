import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard release`: lift the Zincati hold and end a quarantine.
    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift the Zincati hold and end a quarantine through the running agent (root only).")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            let status = try await agent.ask { try await $0.release() }
            if agent.json {
                try agent.printJSON(status)
            } else {
                print("updates released: zincati may update this node again")
                print(AgentRenderer.verdict(status))
            }
        }
    }
}
