import Foundation
import RearguardDaemon
import Testing
import TestSupport

/// The FleetLock client against the fixture server on loopback: the protocol's answers, and every way a call fails
/// coming back as a kind and a value (what status, logs and metrics show).
@Suite(.serialized) struct FleetLockClientTests {
    @Test func takesGivesBackAndIsRefusedWhileAnotherNodeHoldsTheSlot() async throws {
        let server = try await FleetLockServerProcess(hub: nil, folder: scratchDir("fleetlock"))
        let url = "http://127.0.0.1:\(server.port)/"
        let one = FleetLockClient(baseURL: url, id: "node-one", group: "dns")
        let two = FleetLockClient(baseURL: url, id: "node-two", group: "dns")
        let other = FleetLockClient(baseURL: url, id: "node-three", group: "ntp")
        try await one.preReboot()
        try await one.preReboot()  // recursive
        try await other.preReboot()  // another group has its own slot
        do {
            try await two.preReboot()
            Issue.record("node-two got the slot node-one holds")
        } catch {
            #expect(error.kind == "failed_lock" && error.status == 500 && error.value.contains("group dns"), "\(error)")
        }
        try await one.steadyState()
        try await two.preReboot()
        try await one.steadyState()  // holding none is fine
        let ops = server.entries().map { "\($0["id"] ?? "")/\($0["op"] ?? "")/\($0["result"] ?? "")" }
        #expect(ops == [
            "node-one/pre-reboot/ok", "node-one/pre-reboot/ok-recursive", "node-three/pre-reboot/ok",
            "node-two/pre-reboot/failed_lock", "node-one/steady-state/ok", "node-two/pre-reboot/ok", "node-one/steady-state/ok",
        ], "\(ops)")
    }

    @Test func everyFailureHasAKindAndAValue() async throws {
        let server = try await FleetLockServerProcess(hub: nil, folder: scratchDir("fleetlock"))
        func failure(_ client: FleetLockClient) async -> FleetLockError? {
            do {
                try await client.preReboot()
                return nil
            } catch {
                return error
            }
        }
        // 4xx: a path the server does not serve.
        let notFound = await failure(FleetLockClient(baseURL: "http://127.0.0.1:\(server.port)/elsewhere/", id: "n", group: "g"))
        #expect(notFound?.kind == "not_found" && notFound?.status == 404, "\(String(describing: notFound))")
        // Nothing listens.
        let port = freePort()
        let unreachable = await failure(FleetLockClient(baseURL: "http://127.0.0.1:\(port)", id: "n", group: "g", timeout: .seconds(2)))
        #expect(unreachable?.kind == "unreachable" && unreachable?.value.contains("127.0.0.1:\(port)") == true, "\(String(describing: unreachable))")
        // A fleet that cannot be used is a config failure, never a call.
        let https = await failure(FleetLockClient(baseURL: "https://fleetlock.site.lan/", id: "n", group: "g"))
        #expect(https?.kind == "config" && https?.value.contains("https is not supported") == true, "\(String(describing: https))")
        let noURL = await failure(FleetLockClient(baseURL: nil, id: "n", group: "g"))
        #expect(noURL?.kind == "config" && noURL?.value.contains("base_url") == true)
        #expect(server.entries().isEmpty, "none of these reached the server's protocol")
    }
}
