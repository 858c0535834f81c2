import Testing
@testable import OSTree

@Test func moduleLinks() { #expect(Bool(true)) }
