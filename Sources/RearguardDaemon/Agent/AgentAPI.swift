import RearguardAPI
import RearguardCore

/// The agent's API endpoint: a thin reader that makes each document from one `AgentView`, and forwards the admin's
/// requests (recheck, hold, release, mode) to the agent, which decides.
public struct AgentAPI: AgentEndpoint {
    /// The agent served.
    public let agent: Agent

    /// Serves `agent`.
    public init(agent: Agent) { self.agent = agent }

    /// The status document (from memory: no disk or bus reads).
    public func status() async -> StatusDocument { await agent.view().status(agent.env, fleet: await fleet()) }

    /// The checks.
    public func checks() async -> ChecksDocument { ChecksDocument(checks: await agent.view().checks) }

    /// Boots and decisions, newest first.
    public func history() async -> HistoryDocument { await agent.view().history }

    /// The deployments, read again now.
    public func deployments() async throws(AgentRequestError) -> DeploymentsDocument {
        DeploymentsDocument(try await agent.readDeployments())
    }

    /// What the agent would do now, and why.
    public func explain() async -> ExplainDocument { await agent.view().explain(agent.env) }

    /// Runs every check now and returns their documents.
    public func runChecks() async throws(AgentRequestError) -> ChecksDocument {
        ChecksDocument(checks: await agent.runChecks().checks)
    }

    /// Holds Zincati.
    public func hold() async throws(AgentRequestError) -> StatusDocument { try await agent.hold().status(agent.env, fleet: await fleet()) }

    /// Lifts the hold and ends a quarantine or rolled-back state.
    public func release() async throws(AgentRequestError) -> StatusDocument { try await agent.release().status(agent.env, fleet: await fleet()) }

    /// Switches between enforce and observe; kept in the state.
    public func setMode(_ mode: AssessmentMode) async throws(AgentRequestError) -> StatusDocument {
        try await agent.setMode(mode).status(agent.env, fleet: await fleet())
    }

    private func fleet() async -> FleetCoordinator.Snapshot? { await agent.env.fleet?.snapshot() }
}
