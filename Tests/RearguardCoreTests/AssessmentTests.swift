import Foundation
import Testing
@testable import RearguardCore

/// The assessment state machine, with no I/O.
@Suite struct AssessmentTests {
    typealias A = Assessment
    static let t0 = Date(timeIntervalSince1970: 1_764_000_000)
    static let good = A.Release(checksum: String(repeating: "a", count: 64), version: "42.1")
    static let new = A.Release(checksum: String(repeating: "b", count: 64), version: "42.2")
    static let other = A.Release(checksum: String(repeating: "c", count: 64), version: "42.3")
    static let failing = A.Verdict.failing(reasons: ["dns-local failed 3/3"], restartUnits: ["dnsmasq.service"])

    static func boot(_ id: String, _ booted: A.Release, rollback: A.Release? = good, defaultChecksum: String? = nil, staged: Bool = false) -> A.Boot {
        A.Boot(bootID: id, booted: booted, rollback: rollback, defaultChecksum: defaultChecksum ?? booted.checksum, hasStaged: staged)
    }

    /// A machine that knows `good` as known good and is now in probation on `new`.
    static func probation(policy: A.Policy = A.Policy(soak: 600)) -> A {
        var a = A(policy: policy)
        _ = a.handle(.started(boot("b1", good, rollback: nil), at: t0))
        _ = a.handle(.checks(.passing, at: t0))
        _ = a.handle(.checks(.passing, at: t0 + 600))
        _ = a.handle(.started(boot("b2", new), at: t0 + 1000))
        return a
    }

    static func rolls(_ actions: [A.Action]) -> Bool { actions.contains { if case .rollback = $0 { true } else { false } } }
    static func reboots(_ actions: [A.Action]) -> Bool { actions.contains { if case .reboot = $0 { true } else { false } } }
    static func announced(_ actions: [A.Action]) -> [A.Decision.Kind] {
        actions.compactMap { if case .announce(let d) = $0 { d.action } else { nil } }
    }

    /// A good node (`good` known good, booted in b1) on which `other` was staged.
    static func goodWithStaged() -> A {
        var a = A(policy: A.Policy(soak: 600))
        _ = a.handle(.started(boot("b1", good, rollback: nil), at: t0))
        _ = a.handle(.checks(.passing, at: t0))
        _ = a.handle(.checks(.passing, at: t0 + 600))
        let staged = A.Boot(bootID: "b1", booted: good, rollback: nil, defaultChecksum: good.checksum, hasStaged: true, staged: other)
        #expect(a.handle(.deploymentsRead(staged)) == [.persist])
        return a
    }

    @Test func aStagedUpdateThatDidNotBootIsAFailedFinalizationNotAProbation() {
        var a = Self.goodWithStaged()
        #expect(a.memory.stagedUpdate?.release == Self.other)
        let actions = a.handle(.started(Self.boot("b2", Self.good, rollback: nil), at: Self.t0 + 700))
        #expect(Self.announced(actions) == [.finalizationFailed])
        #expect(a.state == .good)
        #expect(a.memory.finalizationFailures == 1 && a.memory.stagedUpdate == nil)
        // Said once: the next boot of the same deployment adds nothing.
        #expect(Self.announced(a.handle(.started(Self.boot("b3", Self.good, rollback: nil), at: Self.t0 + 800))).isEmpty)
        #expect(a.memory.finalizationFailures == 1)
    }

    @Test func aStagedUpdateThatBootsIsOnProbationWithNoFinalizationFailure() {
        var a = Self.goodWithStaged()
        let actions = a.handle(.started(Self.boot("b2", Self.other), at: Self.t0 + 700))
        #expect(Self.announced(actions).isEmpty)
        #expect(a.state == .probation && a.memory.finalizationFailures == 0)
    }

    @Test func aStagedUpdateRemovedWithinTheBootIsForgotten() {
        var a = Self.goodWithStaged()
        #expect(a.handle(.deploymentsRead(Self.boot("b1", Self.good, rollback: nil))) == [.persist])
        #expect(a.memory.stagedUpdate == nil)
        #expect(Self.announced(a.handle(.started(Self.boot("b2", Self.good, rollback: nil), at: Self.t0 + 700))).isEmpty)
    }

    @Test func aRollbackThatClearedTheStagedUpdateIsNoFinalizationFailure() {
        var a = Self.probation()
        let staged = A.Boot(bootID: "b2", booted: Self.new, rollback: Self.good, defaultChecksum: Self.new.checksum, hasStaged: true, staged: Self.other)
        _ = a.handle(.deploymentsRead(staged))
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.rollbackApplied(at: Self.t0 + 1101))
        let actions = a.handle(.started(Self.boot("b3", Self.good, rollback: Self.new), at: Self.t0 + 1200))
        #expect(Self.announced(actions) == [.rollbackDone])
        #expect(a.memory.finalizationFailures == 0)
    }

    @Test func firstBootPassingTheSoakMarksTheDeploymentKnownGood() {
        var a = A(policy: A.Policy(soak: 600))
        #expect(a.handle(.started(Self.boot("b1", Self.good, rollback: nil), at: Self.t0)) == [.persist])
        #expect(a.state == .firstBoot)
        #expect(a.handle(.checks(.passing, at: Self.t0)).isEmpty)
        #expect(a.handle(.checks(.passing, at: Self.t0 + 599)).isEmpty)
        let actions = a.handle(.checks(.passing, at: Self.t0 + 600))
        #expect(actions.first == .persist && Self.announced(actions) == [.bootMarkedGood])
        #expect(a.state == .good && a.memory.isKnownGood(Self.good.checksum))
    }

    @Test func firstBootFailuresAreReportedNeverRolledBack() {
        var a = A(policy: A.Policy())
        _ = a.handle(.started(Self.boot("b1", Self.new), at: Self.t0))
        let actions = a.handle(.checks(Self.failing, at: Self.t0))
        #expect(!Self.rolls(actions) && !Self.reboots(actions))
        #expect(a.state == .firstBoot && a.memory.current?.reason == "dns-local failed 3/3")
    }

    @Test func unknownNeverCountsAsAPassAndRestartsTheSoak() {
        var a = Self.probation()
        _ = a.handle(.checks(.passing, at: Self.t0 + 1000))
        _ = a.handle(.checks(.unknown(reasons: ["bus down"]), at: Self.t0 + 1500))
        #expect(a.handle(.checks(.passing, at: Self.t0 + 1700)).isEmpty)
        #expect(a.state == .probation)
        #expect(a.handle(.checks(.passing, at: Self.t0 + 2299)).isEmpty)
        _ = a.handle(.checks(.passing, at: Self.t0 + 2300))
        #expect(a.state == .good)
    }

    @Test func unknownNeverTriggersARollback() {
        var a = Self.probation()
        for i in 0..<10 { #expect(a.handle(.checks(.unknown(reasons: ["no result"]), at: Self.t0 + 1000 + Double(i))).isEmpty) }
        #expect(a.state == .probation)
    }

    @Test func failingProbationRollsBackToAKnownGoodDeploymentWritingTheIntentFirst() throws {
        var a = Self.probation()
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        #expect(a.state == .rollingBack)
        let intent = try #require(a.memory.intent)
        #expect(intent.from == Self.new && intent.to == Self.good && intent.phase == .requested)
        #expect(actions.first == .persist)
        #expect(actions.last == .rollback(from: Self.new, to: Self.good))
        #expect(Self.announced(actions) == [.rollbackStarted])
        #expect(!Self.reboots(actions))
    }

    @Test func appliedRollbackIsPersistedAndHeldBeforeTheOneReboot() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        let actions = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        #expect(actions.first == .persist && actions.contains(.assertHold))
        #expect(Self.reboots(actions))
        let persistAt = actions.firstIndex(of: .persist) ?? 99
        let rebootAt = actions.firstIndex { if case .reboot = $0 { true } else { false } } ?? -1
        #expect(persistAt < rebootAt)
        #expect(a.memory.intent?.phase == .rebootRequested && a.memory.reboots(since: Self.t0) == 1)
        #expect(a.memory.badReleases.map(\.checksum) == [Self.new.checksum] && a.memory.updatesHeld)
    }

    @Test func bootingTheTargetAfterwardsIsRolledBackWithUpdatesHeld() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        let actions = a.handle(.started(Self.boot("b3", Self.good, rollback: Self.new), at: Self.t0 + 1200))
        #expect(a.state == .rolledBack && a.memory.intent == nil)
        #expect(actions.contains(.assertHold) && Self.announced(actions) == [.rollbackDone])
        #expect(a.memory.current?.reason == "dns-local failed 3/3")
        // It stays rolled back, checks or not, and across a plain reboot of the same deployment.
        #expect(a.handle(.checks(Self.failing, at: Self.t0 + 1300)).isEmpty)
        let again = a.handle(.started(Self.boot("b4", Self.good, rollback: Self.new), at: Self.t0 + 1400))
        #expect(a.state == .rolledBack && again.contains(.assertHold) && !Self.rolls(again))
    }

    @Test func rollsBackOnceThenQuarantines() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        _ = a.handle(.started(Self.boot("b3", Self.good, rollback: Self.new), at: Self.t0 + 1200))
        _ = a.handle(.releaseRequested(at: Self.t0 + 1300))
        // Two days later the same bad release boots again (an admin deployed it) and fails again.
        _ = a.handle(.started(Self.boot("b4", Self.new), at: Self.t0 + 200_000))
        #expect(a.state == .probation)
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 200_100))
        #expect(!Self.rolls(actions) && !Self.reboots(actions))
        #expect(a.state == .quarantine && Self.announced(actions) == [.quarantineEntered])
        #expect(a.memory.current?.reason?.contains("already rolled back") == true)
    }

    @Test func neverRollsBackAKnownGoodBoot() {
        var a = Self.probation()
        _ = a.handle(.checks(.passing, at: Self.t0 + 1000))
        _ = a.handle(.checks(.passing, at: Self.t0 + 1600))
        #expect(a.state == .good)
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 1700))
        #expect(!Self.rolls(actions) && !Self.reboots(actions))
        #expect(actions.contains(.restartUnits(["dnsmasq.service"])))
        #expect(a.state == .good)
    }

    @Test func restartsAFailingUnitOncePerFailingEpisode() {
        var a = A(policy: A.Policy(soak: 0))
        _ = a.handle(.started(Self.boot("b1", Self.good, rollback: nil), at: Self.t0))
        _ = a.handle(.checks(.passing, at: Self.t0))
        #expect(a.handle(.checks(Self.failing, at: Self.t0 + 1)).contains(.restartUnits(["dnsmasq.service"])))
        #expect(a.handle(.checks(Self.failing, at: Self.t0 + 2)).isEmpty)
        _ = a.handle(.checks(.passing, at: Self.t0 + 3))
        #expect(a.handle(.checks(Self.failing, at: Self.t0 + 4)).contains(.restartUnits(["dnsmasq.service"])))
    }

    @Test func noRollbackDeploymentMeansQuarantineNotAGuess() {
        var a = Self.probation()
        _ = a.handle(.started(Self.boot("b3", Self.new, rollback: nil), at: Self.t0 + 2000))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 2100))
        #expect(!Self.rolls(actions) && !Self.reboots(actions) && a.state == .quarantine)
        #expect(a.memory.current?.reason?.contains("no rollback deployment") == true)
    }

    @Test func rollbackDeploymentNeverKnownGoodMeansQuarantine() {
        var a = Self.probation()
        _ = a.handle(.started(Self.boot("b3", Self.new, rollback: Self.other), at: Self.t0 + 2000))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 2100))
        #expect(!Self.rolls(actions) && a.state == .quarantine)
    }

    @Test func rebootBudgetExhaustedMeansQuarantine() {
        var memory = Self.probation().memory
        memory.rebootTimes = [Self.t0 + 900]
        var a = A(policy: A.Policy(soak: 600, maxRebootsPerDay: 1), memory: memory)
        _ = a.handle(.started(Self.boot("b3", Self.new), at: Self.t0 + 1000))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        #expect(!Self.rolls(actions) && a.state == .quarantine)
        #expect(a.memory.current?.reason?.contains("reboot budget") == true)
    }

    @Test func observeModeDecidesAndShowsButNeverActs() {
        var a = Self.probation(policy: A.Policy(isEnforcing: false, soak: 600))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        #expect(!Self.rolls(actions) && !Self.reboots(actions))
        #expect(a.state == .failing && Self.announced(actions) == [.rollbackWithheld])
        #expect(a.memory.lastDecision?.reason.contains("would roll back to 42.1") == true)
        // Switched to enforce while still failing: the next failing verdict acts.
        _ = a.handle(.policyChanged(A.Policy(isEnforcing: true, soak: 600)))
        #expect(Self.rolls(a.handle(.checks(Self.failing, at: Self.t0 + 1200))))
    }

    @Test func failingThenPassingReturnsToProbation() {
        var a = Self.probation(policy: A.Policy(isEnforcing: false, soak: 600))
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.checks(.passing, at: Self.t0 + 1200))
        #expect(a.state == .probation)
    }

    @Test func aStagedDeploymentIsClearedBeforeTheRollback() {
        var a = Self.probation()
        _ = a.handle(.started(Self.boot("b3", Self.new, staged: true), at: Self.t0 + 2000))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 2100))
        let clear = actions.firstIndex(of: .clearStaged) ?? 99
        let roll = actions.firstIndex(of: .rollback(from: Self.new, to: Self.good)) ?? -1
        #expect(clear < roll)
    }

    @Test func restartBeforeTheTransactionAsksForTheRollbackAgain() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        var restarted = A(policy: a.policy, memory: a.memory)
        let actions = restarted.handle(.started(Self.boot("b2", Self.new, defaultChecksum: Self.new.checksum), at: Self.t0 + 1105))
        #expect(actions.last == .rollback(from: Self.new, to: Self.good) && !Self.reboots(actions))
        #expect(restarted.state == .rollingBack)
    }

    @Test func restartAfterTheTransactionOnlyReboots() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        var restarted = A(policy: a.policy, memory: a.memory)
        let actions = restarted.handle(.started(Self.boot("b2", Self.new, defaultChecksum: Self.good.checksum), at: Self.t0 + 1105))
        #expect(!Self.rolls(actions) && Self.reboots(actions))
        #expect(restarted.memory.rollbacks.count == 1)
    }

    @Test func restartAfterTheRebootRequestAsksOnceMoreThenQuarantines() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        var second = A(policy: a.policy, memory: a.memory)
        let again = second.handle(.started(Self.boot("b2", Self.new, defaultChecksum: Self.good.checksum), at: Self.t0 + 1120))
        #expect(Self.reboots(again) && !Self.rolls(again))
        var third = A(policy: a.policy, memory: second.memory)
        let last = third.handle(.started(Self.boot("b2", Self.new, defaultChecksum: Self.good.checksum), at: Self.t0 + 1130))
        #expect(!Self.reboots(last) && !Self.rolls(last) && third.state == .quarantine)
        #expect(third.memory.rollbacks.count == 1)
    }

    @Test func theRollbackNotTakingMeansQuarantineNotALoop() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        let actions = a.handle(.started(Self.boot("b3", Self.new), at: Self.t0 + 1200))
        #expect(a.state == .quarantine && !Self.rolls(actions) && !Self.reboots(actions))
        #expect(Self.rolls(a.handle(.checks(Self.failing, at: Self.t0 + 1300))) == false)
    }

    @Test func aFailedTransactionMeansQuarantine() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        let actions = a.handle(.rollbackFailed("No rollback deployment found", at: Self.t0 + 1110))
        #expect(a.state == .quarantine && a.memory.intent == nil && !Self.reboots(actions))
        #expect(a.memory.current?.reason?.contains("No rollback deployment found") == true)
    }

    @Test func quarantineLastsUntilAnotherDeploymentBoots() {
        var a = Self.probation()
        _ = a.handle(.started(Self.boot("b3", Self.new, rollback: nil), at: Self.t0 + 2000))
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 2100))
        _ = a.handle(.started(Self.boot("b4", Self.new, rollback: nil), at: Self.t0 + 2200))
        #expect(a.state == .quarantine)
        _ = a.handle(.started(Self.boot("b5", Self.other), at: Self.t0 + 2300))
        #expect(a.state == .probation)
    }

    @Test func releaseEndsQuarantineAndTheChecksumIsOnlyObservedAfterwards() {
        var a = Self.probation()
        _ = a.handle(.started(Self.boot("b3", Self.new, rollback: nil), at: Self.t0 + 2000))
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 2100))
        _ = a.handle(.releaseRequested(at: Self.t0 + 2200))
        #expect(a.state == .probation && a.memory.observeOnly.contains(Self.new.checksum))
        _ = a.handle(.started(Self.boot("b4", Self.new), at: Self.t0 + 2300))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 2400))
        #expect(!Self.rolls(actions) && !Self.reboots(actions) && a.state == .failing)
    }

    @Test func theHoldIsAssertedEveryBootUntilReleased() {
        var a = Self.probation()
        let hold = a.handle(.holdRequested(at: Self.t0 + 1100))
        #expect(hold.contains(.assertHold) && Self.announced(hold) == [.updatesHeld])
        #expect(a.handle(.started(Self.boot("b3", Self.new), at: Self.t0 + 1200)).contains(.assertHold))
        let release = a.handle(.releaseRequested(at: Self.t0 + 1300))
        #expect(release.contains(.removeHold) && !a.memory.updatesHeld)
        #expect(!a.handle(.started(Self.boot("b4", Self.new), at: Self.t0 + 1400)).contains(.assertHold))
    }

    @Test func memoryRoundTripsThroughJSON() throws {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let data = try encoder.encode(a.memory)
        #expect(try decoder.decode(AssessmentMemory.self, from: data) == a.memory)
    }

    @Test func anUpdateStagedDuringProbationIsClearedBeforeTheRollback() {
        var a = Self.probation()
        #expect(a.handle(.deploymentsRead(Self.boot("b2", Self.new, staged: true))) == [])
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        let clear = actions.firstIndex(of: .clearStaged)
        let rollback = actions.firstIndex(of: .rollback(from: Self.new, to: Self.good))
        #expect(clear != nil && rollback != nil && (clear ?? 0) < (rollback ?? 0))
    }

    @Test func deploymentsReadForAnotherBootChangeNothing() {
        var a = Self.probation()
        _ = a.handle(.deploymentsRead(Self.boot("other-boot", Self.new, rollback: nil)))
        #expect(a.boot?.rollback == Self.good)
    }

    @Test func aRollbackFinishedAcrossARebootIsRecordedOnce() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        #expect(a.state == .rollingBack)
        // The agent died after the transaction; the node rebooted into the target before it could record anything.
        _ = a.handle(.started(Self.boot("b3", Self.good, rollback: Self.new), at: Self.t0 + 1200))
        #expect(a.state == .rolledBack)
        #expect(a.memory.rollbacks.map(\.from) == [Self.new.checksum])
        // The bad release boots again later and fails: never a second rollback.
        _ = a.handle(.started(Self.boot("b4", Self.new), at: Self.t0 + 90_000))
        let actions = a.handle(.checks(Self.failing, at: Self.t0 + 90_100))
        #expect(!actions.contains { if case .rollback = $0 { true } else { false } })
        #expect(a.state == .quarantine)
    }

    @Test func aRollbackResumedInObserveModeIsWithheld() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.policyChanged(A.Policy(isEnforcing: false, soak: 600)))
        let actions = a.handle(.started(Self.boot("b2", Self.new), at: Self.t0 + 1150))
        #expect(!actions.contains { if case .rollback = $0 { true } else if case .reboot = $0 { true } else { false } })
        #expect(a.memory.intent != nil, "the intent is kept for when enforcing resumes")
        #expect(a.memory.lastDecision?.action == .rollbackWithheld)
    }

    @Test func aRollbackAppliedWhileObservingRecordsButDoesNotReboot() {
        var a = Self.probation()
        _ = a.handle(.checks(Self.failing, at: Self.t0 + 1100))
        _ = a.handle(.policyChanged(A.Policy(isEnforcing: false, soak: 600)))
        let actions = a.handle(.rollbackApplied(at: Self.t0 + 1110))
        #expect(!actions.contains { if case .reboot = $0 { true } else { false } })
        #expect(a.memory.rollbacks.count == 1 && a.memory.rebootTimes.isEmpty)
    }

    // MARK: exhaustive: every reachable state with every event

    static let events: [A.Event] = [
        .started(boot("bX", new), at: t0 + 5000), .started(boot("b2", new), at: t0 + 5000),
        .started(boot("bY", good, rollback: new), at: t0 + 5000), .started(boot("bZ", other, rollback: nil), at: t0 + 5000),
        .checks(.passing, at: t0 + 5000), .checks(failing, at: t0 + 5000), .checks(.unknown(reasons: ["?"]), at: t0 + 5000),
        .rollbackApplied(at: t0 + 5000), .rollbackFailed("boom", at: t0 + 5000),
        .holdRequested(at: t0 + 5000), .releaseRequested(at: t0 + 5000),
        .policyChanged(A.Policy(isEnforcing: false)), .policyChanged(A.Policy(isEnforcing: true, soak: 0)),
        .deploymentsRead(boot("b2", new, staged: true)), .deploymentsRead(boot("b2", new, rollback: nil)),
    ]

    /// One machine per state, reached through real event sequences.
    static func machines() -> [A.State: A] {
        var result: [A.State: A] = [:]
        var first = A(policy: A.Policy(soak: 600))
        _ = first.handle(.started(boot("b1", good, rollback: nil), at: t0))
        result[.firstBoot] = first
        result[.probation] = probation()
        var good = probation()
        _ = good.handle(.checks(.passing, at: t0 + 1000)); _ = good.handle(.checks(.passing, at: t0 + 1600))
        result[.good] = good
        var failing = probation(policy: A.Policy(isEnforcing: false, soak: 600))
        _ = failing.handle(.checks(Self.failing, at: t0 + 1100))
        result[.failing] = failing
        var rolling = probation()
        _ = rolling.handle(.checks(Self.failing, at: t0 + 1100))
        result[.rollingBack] = rolling
        var rolled = rolling
        _ = rolled.handle(.rollbackApplied(at: t0 + 1110)); _ = rolled.handle(.started(boot("b3", Self.good, rollback: new), at: t0 + 1200))
        result[.rolledBack] = rolled
        var quarantined = probation()
        _ = quarantined.handle(.started(boot("b3", new, rollback: nil), at: t0 + 1200)); _ = quarantined.handle(.checks(Self.failing, at: t0 + 1300))
        result[.quarantine] = quarantined
        return result
    }

    @Test func everyStateIsReachable() {
        let machines = Self.machines()
        for state in A.State.allCases { #expect(machines[state]?.state == state, "\(state)") }
    }

    @Test(arguments: A.State.allCases)
    func everyEventInEveryStateKeepsTheSafetyRules(_ state: A.State) throws {
        let start = try #require(Self.machines()[state])
        for event in Self.events {
            var a = start
            let actions = a.handle(event)
            // Anything that changes the node comes after the memory that explains it is persisted.
            if let firstRisky = actions.firstIndex(where: { if case .rollback = $0 { true } else if case .reboot = $0 { true } else { false } }) {
                #expect(actions[..<firstRisky].contains(.persist), "\(state) + \(event)")
                #expect(a.memory.intent != nil, "\(state) + \(event): risky action without an intent")
            }
            // A rollback only from probation or failing, enforcing, towards a known-good deployment, once per checksum.
            if case .rollback(let from, let to)? = actions.first(where: { if case .rollback = $0 { true } else { false } }) {
                #expect([.probation, .failing, .rollingBack].contains(state), "\(state) + \(event)")
                #expect(start.memory.isKnownGood(to.checksum) && a.policy.isEnforcing)
                #expect(start.memory.rollbacks.filter { $0.from == from.checksum }.isEmpty)
            }
            // A reboot only to finish a rollback.
            if actions.contains(where: { if case .reboot = $0 { true } else { false } }) {
                #expect(a.memory.intent?.phase == .rebootRequested, "\(state) + \(event)")
            }
            // Unknown verdicts never move a deployment to good.
            if case .checks(.unknown, _) = event { #expect(a.state == state, "\(state) + \(event)") }
        }
    }
}

/// Every persisted or wire type survives the house snake_case encoder and decoder (acronym keys included).
@Suite struct SnakeCaseRoundTripTests {
    @Test func memoryWithAnIntentRoundTripsThroughSnakeCase() throws {
        var a = AssessmentTests.probation()
        _ = a.handle(.checks(AssessmentTests.failing, at: AssessmentTests.t0 + 1100))
        #expect(a.memory.intent != nil && a.memory.current != nil)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        let data = try encoder.encode(a.memory)
        #expect(String(decoding: data, as: UTF8.self).contains("\"boot_id\""))
        #expect(try decoder.decode(AssessmentMemory.self, from: data) == a.memory)
        let staged = AssessmentTests.goodWithStaged().memory
        #expect(staged.stagedUpdate != nil)
        #expect(try decoder.decode(AssessmentMemory.self, from: try encoder.encode(staged)) == staged)
        let unit = UnitState(unit: "a.service", loadState: "loaded", activeState: "active", subState: "running", result: "success",
                             nRestarts: 2, invocationID: String(repeating: "f", count: 32), changedAt: AssessmentTests.t0)
        let unitData = try encoder.encode(unit)
        #expect(String(decoding: unitData, as: UTF8.self).contains("\"invocation_id\""))
        #expect(String(decoding: unitData, as: UTF8.self).contains("\"n_restarts\""))
        #expect(try decoder.decode(UnitState.self, from: unitData) == unit)
    }
}
