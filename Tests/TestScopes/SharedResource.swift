import Testing
import TestSupport

/// What suites running in parallel (`swift test` runs every suite at once) must not use at the same time: a suite
/// marked with one waits for it, and only suites that need the same thing wait for each other.
///
/// - `.testGuest`: the systemd guest of `scripts/testenv.sh` (tests reboot it, change its units, and the stand-in
///   rpm-ostreed owns one bus name on it).
/// - `.nodeGuest`: one node guest out of those `scripts/test` booted (`REARGUARD_NODES`); the suite runs with
///   `NodeGuest` pointed at the one it got.
///
/// On a suite the trait covers the suite's whole run, once; a test inside it does not take it again.
public struct SharedResource: SuiteTrait, TestTrait, TestScoping {
    enum Kind: Sendable {
        case exclusive(String)
        case nodeGuest
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
        case .nodeGuest:
            if NodeGuest.assigned != nil { return try await function() }
            let base = await NodeGuestPool.shared.take()
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
    /// A node guest of its own for the suite's run.
    public static var nodeGuest: Self { SharedResource(kind: .nodeGuest) }
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

/// The node guests booted for this run, each lent to one suite at a time.
actor NodeGuestPool {
    static let shared = NodeGuestPool(bases: NodeGuest.bases)
    private var free: [String]
    private var waiting: [CheckedContinuation<String, Never>] = []

    init(bases: [String]) { free = bases }

    func take() async -> String {
        if !free.isEmpty { return free.removeFirst() }
        return await withCheckedContinuation { waiting.append($0) }
    }

    func giveBack(_ base: String) {
        if waiting.isEmpty {
            free.append(base)
        } else {
            waiting.removeFirst().resume(returning: base)
        }
    }
}
