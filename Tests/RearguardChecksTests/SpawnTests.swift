import Glibc
import Posix
import Testing

@Suite struct SpawnTests {
    /// `nsenter` stops itself when the program it runs in a guest stops (a guest's shutdown stops every process for a
    /// moment): with `resumingStops` the collector continues it, and the program runs to its end.
    @Test func aChildThatStopsIsContinuedWhenAsked() async throws {
        let child = try Spawn.start(["/bin/sh", "-c", "kill -STOP $$; echo resumed"])
        let done = await Spawn.finished(child, until: .now + .seconds(20), resumingStops: true)
        #expect(!done.timedOut && done.status == .exited(0), "\(done.status)")
        #expect(String(decoding: done.output, as: UTF8.self) == "resumed\n")
    }

    /// Otherwise a stopped child stays stopped (the agent's command checks leave it to their deadline).
    @Test func aChildThatStopsStaysStoppedUntilTheDeadline() async throws {
        let child = try Spawn.start(["/bin/sh", "-c", "kill -STOP $$; echo resumed"])
        let done = await Spawn.finished(child, until: .now + .seconds(1))
        #expect(done.timedOut && done.status == .signalled(SIGKILL), "\(done.status)")
        #expect(done.output.isEmpty)
    }
}
