/// What reading the state file found.
public enum StateLoad: Sendable, Equatable {
    /// No state file: a node's first run.
    case fresh
    /// The remembered memory.
    case loaded(AssessmentMemory)
    /// The file could not be read or decoded; it was kept aside at `keptAs`. The agent observes only.
    case corrupt(keptAs: String, reason: String)
    /// The file has a schema this agent does not know (a newer agent wrote it); left untouched, observe only.
    case unsupported(schemaVersion: Int)

    /// Whether the agent may act (roll back, reboot) on what it remembers.
    public var isTrustworthy: Bool {
        switch self {
        case .fresh, .loaded: true
        case .corrupt, .unsupported: false
        }
    }

    /// The memory to start from (empty when the file was not usable).
    public var memory: AssessmentMemory {
        if case .loaded(let memory) = self { return memory }
        return AssessmentMemory()
    }
}

/// Core's port to durable memory (implemented as an atomically written JSON file under /var).
public protocol StateStore: Sendable {
    /// Reads the memory; never throws for a bad file (it is kept aside and reported instead).
    func load() async -> StateLoad
    /// Writes the memory durably before returning.
    func save(_ memory: AssessmentMemory) async throws
}
