import Testing
@testable import RearguardCore

/// The role rule, with no I/O: every arrangement of staged, booted and other stateroots.
@Suite struct DeploymentRoleTests {
    private func entry(_ osname: String, _ n: Int, booted: Bool = false, staged: Bool = false) -> DeploymentInfo {
        DeploymentInfo(
            index: n, osname: osname, checksum: String(repeating: "\(n % 10)", count: 64), serial: 0, version: "v\(n)",
            timestamp: nil, origin: nil, isPinned: false, isStaged: staged, isBooted: booted)
    }

    private func roles(_ entries: [DeploymentInfo]) -> [DeploymentRole] {
        DeploymentSnapshot(deployments: entries, bootedSource: .none).deployments.map(\.role)
    }

    @Test func bootedNewestHasOnlyARollback() {
        #expect(roles([entry("a", 0, booted: true), entry("a", 1), entry("a", 2)]) == [.booted, .rollback, .other])
    }

    @Test func bootedOlderMakesTheNewerOnePending() {
        #expect(roles([entry("a", 0), entry("a", 1, booted: true), entry("a", 2)]) == [.pending, .booted, .rollback])
    }

    @Test func onlyTheFirstBeforeTheBootedOneIsPending() {
        #expect(roles([entry("a", 0), entry("a", 1), entry("a", 2, booted: true)]) == [.pending, .other, .booted])
    }

    @Test func aSingleDeploymentHasNoRollback() {
        let snapshot = DeploymentSnapshot(deployments: [entry("a", 0, booted: true)], bootedSource: .none)
        #expect(snapshot.rollback == nil && snapshot.pending == nil && snapshot.booted?.index == 0)
    }

    @Test func otherStaterootsAreNeverPendingOrRollback() {
        #expect(roles([entry("b", 0), entry("a", 1, booted: true), entry("b", 2), entry("a", 3)])
            == [.other, .booted, .other, .rollback])
    }

    @Test func stagedIsStagedAndNeverPending() {
        #expect(roles([entry("a", 0, staged: true), entry("a", 1, booted: true), entry("a", 2)]) == [.staged, .booted, .rollback])
        #expect(roles([entry("a", 0, staged: true), entry("a", 1), entry("a", 2, booted: true)]) == [.staged, .pending, .booted])
    }

    @Test func withoutABootedDeploymentEverythingIsOtherButStaged() {
        #expect(roles([entry("a", 0, staged: true), entry("a", 1), entry("a", 2)]) == [.staged, .other, .other])
        let snapshot = DeploymentSnapshot(deployments: [entry("a", 0), entry("a", 1)], bootedSource: .none)
        #expect(snapshot.booted == nil && snapshot.deployments.allSatisfy { !$0.isBooted })
    }

    @Test func aStagedEntryMarkedBootedIsNotBooted() {
        let snapshot = DeploymentSnapshot(deployments: [entry("a", 0, booted: true, staged: true), entry("a", 1)], bootedSource: .none)
        #expect(snapshot.deployments.map(\.role) == [.staged, .other] && snapshot.booted == nil)
    }
}
