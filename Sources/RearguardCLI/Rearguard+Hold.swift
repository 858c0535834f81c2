import ArgumentParser
import RearguardAPI

extension Rearguard {
    /// `rearguard hold`: keep Zincati from updating (asserted every boot until released).
    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold Zincati's updates through the running agent (root only).")

        @OptionGroup var agent: AgentOptions

        func run() async throws {
            let status = try await agent.ask { try await $0.hold() }
            if agent.json {
                try agent.printJSON(status)
            } else {
                print("updates held: zincati will not update this node until rearguard release")
                print(AgentRenderer.verdict(status))
            }
        }
    }
}
