import Testing
@testable import RearguardCore

@Test func moduleLinks() { #expect(Bool(true)) }
