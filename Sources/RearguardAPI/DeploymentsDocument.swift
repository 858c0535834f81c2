import RearguardCore

/// The JSON document of `rearguard deployments --json` and `GET /v1/deployments`.
public struct DeploymentsDocument: Codable, Sendable, Equatable {
    /// Always `RearguardJSON.schemaVersion`.
    public var schemaVersion: Int
    /// Deployments in boot order, each with its role.
    public var deployments: [DeploymentInfo]

    /// Wraps a snapshot's deployments.
    public init(_ snapshot: DeploymentSnapshot) {
        schemaVersion = RearguardJSON.schemaVersion
        deployments = snapshot.deployments
    }
}
