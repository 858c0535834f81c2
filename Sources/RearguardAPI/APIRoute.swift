import RearguardCore

/// The agent API's paths, shared by the server and its client.
public enum APIRoute {
    /// `GET`: the `StatusDocument`.
    public static let status = "/v1/status"
    /// `GET`: the `ChecksDocument`.
    public static let checks = "/v1/checks"
    /// `GET`: the `HistoryDocument`.
    public static let history = "/v1/history"
    /// `GET`: the `DeploymentsDocument`, read again now.
    public static let deployments = "/v1/deployments"
    /// `GET`: the `ExplainDocument`.
    public static let explain = "/v1/explain"
    /// `GET`: Prometheus text.
    public static let metrics = "/metrics"
    /// `POST`, empty body, root only: run every check now; answers the `ChecksDocument`.
    public static let runChecks = "/v1/checks/run"
    /// `POST`, empty body, root only: hold Zincati; answers the `StatusDocument`.
    public static let hold = "/v1/hold"
    /// `POST`, empty body, root only: lift the hold and end a quarantine; answers the `StatusDocument`.
    public static let release = "/v1/release"
    /// `POST` `{"mode": "observe"}` or `enforce`, root only; answers the `StatusDocument`.
    public static let mode = "/v1/mode"
}

/// The body of `POST /v1/mode`.
public struct ModeRequest: Codable, Sendable, Equatable {
    /// `enforce` or `observe`.
    public var mode: String

    /// Creates a request for `mode`.
    public init(mode: AssessmentMode) { self.mode = mode.rawValue }
}
