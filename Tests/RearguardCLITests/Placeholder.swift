import Testing
@testable import RearguardCLI

@Test func moduleLinks() { #expect(Bool(true)) }
