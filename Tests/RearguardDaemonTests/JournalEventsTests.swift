import RearguardCore
import RearguardDaemon
import Testing

@Suite struct JournalEventsTests {
    @Test func everyDecisionKindHasItsOwnJournaldMessageID() {
        let ids = Assessment.Decision.Kind.allCases.map(JournalEvents.messageID)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(id)")
        }
    }
}
