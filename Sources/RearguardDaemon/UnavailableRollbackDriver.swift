import RearguardCore

/// A driver that refuses every rollback with a reason: the assessment then fails safe into quarantine.
public struct UnavailableRollbackDriver: RollbackDriver {
    /// Why no rollback is possible.
    public var reason: String

    /// Creates a refusing driver.
    public init(reason: String) { self.reason = reason }

    /// Refuses.
    public func clearStaged() async throws { throw RollbackError(reason) }

    /// Refuses.
    public func rollback(from: Assessment.Release, to: Assessment.Release) async throws { throw RollbackError(reason) }
}
