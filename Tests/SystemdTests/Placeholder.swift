import Testing
@testable import Systemd

@Test func moduleLinks() { #expect(Bool(true)) }
