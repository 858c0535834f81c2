import Testing
@testable import RearguardChecks

@Test func moduleLinks() { #expect(Bool(true)) }
