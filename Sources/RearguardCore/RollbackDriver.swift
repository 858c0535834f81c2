/// Core's port to whatever reorders the boot (rpm-ostreed over D-Bus, or libostree directly).
public protocol RollbackDriver: Sendable {
    /// Removes a staged deployment so a rollback is not undone at shutdown (rpm-ostree `cleanup -p`).
    func clearStaged() async throws
    /// Makes `to` the default deployment without rebooting; returns only once the sysroot, read back, boots `to` first.
    func rollback(from: Assessment.Release, to: Assessment.Release) async throws
}

/// A rollback that did not happen, with why.
public struct RollbackError: Error, Sendable, CustomStringConvertible {
    /// A lowercase sentence naming the deployment and what went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
