import Testing
import TestSupport

/// What suites running in parallel (`swift test` runs every suite at once) must not use at the same time: a suite
/// marked with one waits for it, and only suites that need the same thing wait for each other.
///
/// - `.testGuest`: the systemd guest of `scripts/testenv.sh` (tests reboot it, change its units, and the stand-in
///   rpm-ostreed owns one bus name on it).
/// - `.nodeGuest(cost:)`: one node guest out of those `scripts/test` booted (`REARGUARD_NODES`); the suite runs with
///   `NodeGuest` pointed at the one it got. `cost` is the suite's usual run time in seconds: the guests go to the
///   costliest suites first, so the longest suites do not end up queued behind each other on one guest.
///
/// On a suite the trait covers the suite's whole run, once; a test inside it does not take it again.
public struct SharedResource: SuiteTrait, TestTrait, TestScoping {
    enum Kind: Sendable {
        case exclusive(String)
        case nodeGuest(cost: Int)
    }
    let kind: Kind

    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        switch kind {
        case .exclusive(let name):
            if HeldResources.names.contains(name) { return try await function() }
            await ResourceLocks.shared.acquire(name)
            do {
                try await HeldResources.$names.withValue(HeldResources.names.union([name]), operation: function)
            } catch {
                await ResourceLocks.shared.release(name)
                throw error
            }
            await ResourceLocks.shared.release(name)
        case .nodeGuest(let cost):
            if NodeGuest.assigned != nil { return try await function() }
            let base = await NodeGuestPool.shared.take(cost: cost)
            do {
                try await NodeGuest.$assigned.withValue(base, operation: function)
            } catch {
                await NodeGuestPool.shared.giveBack(base)
                throw error
            }
            await NodeGuestPool.shared.giveBack(base)
        }
    }
}

extension Trait where Self == SharedResource {
    /// The systemd guest of `scripts/testenv.sh`, one suite at a time.
    public static var testGuest: Self { SharedResource(kind: .exclusive("test guest")) }
    /// A node guest of its own for the suite's run, which usually takes `cost` seconds.
    public static func nodeGuest(cost: Int) -> Self { SharedResource(kind: .nodeGuest(cost: cost)) }
}

/// The exclusive resources the current task already holds (a suite's tests run inside its scope).
enum HeldResources {
    @TaskLocal static var names: Set<String> = []
}

/// Named locks handed over first come, first served.
actor ResourceLocks {
    static let shared = ResourceLocks()
    private var busy: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ name: String) async {
        guard busy.contains(name) else {
            busy.insert(name)
            return
        }
        await withCheckedContinuation { waiting[name, default: []].append($0) }
    }

    /// Hands the lock to the next waiter, or frees it.
    func release(_ name: String) {
        if let next = waiting[name]?.first {
            waiting[name]?.removeFirst()
            next.resume()
        } else {
            busy.remove(name)
        }
    }
}

/// The node guests booted for this run, each lent to one suite at a time. Suites all ask at the start of the run:
/// the first answer waits a moment for the others' requests, and a free guest always goes to the costliest suite
/// waiting (longest first keeps the guests' loads even).
actor NodeGuestPool {
    static let shared = NodeGuestPool(bases: NodeGuest.bases)
    private var free: [String]
    private var waiting: [(cost: Int, continuation: CheckedContinuation<String, Never>)] = []
    private var gathering = true

    init(bases: [String]) { free = bases }

    func take(cost: Int) async -> String {
        if gathering && waiting.isEmpty {
            Task {
                try? await Task.sleep(for: .seconds(1))
                self.endGathering()
            }
        }
        return await withCheckedContinuation { continuation in
            waiting.append((cost, continuation))
            if !gathering { handOut() }
        }
    }

    func giveBack(_ base: String) {
        free.append(base)
        handOut()
    }

    private func endGathering() {
        gathering = false
        handOut()
    }

    private func handOut() {
        while !free.isEmpty, let next = waiting.indices.max(by: { waiting[$0].cost < waiting[$1].cost }) {
            waiting.remove(at: next).continuation.resume(returning: free.removeFirst())
        }
    }
}
