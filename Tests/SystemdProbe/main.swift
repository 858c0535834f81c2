// A helper for the Systemd tests, not shipped:
//   journal TOKEN     (inside the guest) log one entry through JournalLogHandler
//   inhibit WHY [S]   (host binary in the guest's pid namespace) hold a shutdown inhibitor S seconds
//   notify            (inside the guest, as agent-notify.service) READY/STATUS/WATCHDOG, STOPPING on SIGTERM
//   bench [N]         (host, DBUS_SYSTEM_BUS_ADDRESS set) time from a unit failure to the watch delivering it
import DBus
import Foundation
import Glibc
import Logging
import Systemd

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "journal":
    let token = arguments.dropFirst().first ?? "none"
    let handler = JournalLogHandler.standard(label: "rearguard-probe")
    print(handler is JournalLogHandler ? "journal" : "stderr")
    let logger = Logger(label: "rearguard-probe") { _ in handler }
    logger.warning(
        "probe entry",
        metadata: [
            JournalLogHandler.messageIDKey: "4b2a1c7e0f5d4e6a9b8c7d6e5f4a3b2c",
            "rearguard_token": "\(token)", "rearguard_check": "dns",
        ])
case "notify":
    let notifier = Notifier()
    signal(SIGTERM) { _ in
        _ = try? Notifier().stopping()
        exit(0)
    }
    do {
        try notifier.status("probe ready")
        try notifier.ready()
        while true {
            try notifier.watchdog()
            usleep(300_000)
        }
    } catch {
        FileHandle.standardError.write(Data("notify failed: \(error)\n".utf8))
        exit(1)
    }
case "inhibit":
    // logind identifies the holder by pid, so this runs in the guest's pid namespace (nsenter -p).
    let why = arguments.dropFirst().first ?? "probe"
    let seconds = UInt32(arguments.dropFirst(2).first ?? "") ?? 2
    let bus = Bus(logger: Logger(label: "probe"))
    do {
        let inhibitor = try await bus.inhibit(what: "shutdown", who: "rearguard-tests", why: why, mode: "block")
        print("held")
        sleep(seconds)
        inhibitor.release()
        print("released")
    } catch {
        FileHandle.standardError.write(Data("inhibit failed: \(error)\n".utf8))
        exit(1)
    }
case "bench":
    try await bench(samples: Int(arguments.dropFirst().first ?? "") ?? 200)
default:
    FileHandle.standardError.write(Data("usage: rearguard-systemd-probe journal TOKEN | notify | bench [N]\n".utf8))
    exit(64)
}

func realtimeMicroseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}

func bench(samples: Int) async throws {
    let unit = "agent-fail@bench.service"
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let bus = Bus(logger: logger)
    let events = UnitWatch.events(units: [unit], logger: logger)
    var iterator = events.makeAsyncIterator()
    var lastFailure: UInt64 = 0
    var latencies: [Double] = []
    // The first state is the current one.
    while let e = try await iterator.next() { if case .state = e { break } }
    for _ in 0..<samples {
        try? await bus.resetFailedUnit(unit)
        try await bus.startUnit(unit)
        while let e = try await iterator.next() {
            guard case .state(let s) = e, s.activeState == "failed", s.stateChangeTimestamp != lastFailure else { continue }
            let now = realtimeMicroseconds()
            lastFailure = s.stateChangeTimestamp
            latencies.append(Double(Int64(now) - Int64(s.stateChangeTimestamp)) / 1000)
            break
        }
    }
    latencies.sort()
    func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)] }
    print(String(format: "unit failure -> watch delivery over %d samples: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
                 latencies.count, pct(0.5), pct(0.9), pct(0.99), latencies.last ?? 0))
}
