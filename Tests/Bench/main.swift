// The benchmark parts that need the test fixtures (scripts/bench runs them; not shipped):
//   decision N   a required check failing on a probation boot -> the rollback transaction's Start at the stand-in
//                rpm-ostreed on the test guest's bus, N times; prints one JSON object of latencies in ms
import Foundation
import TestSupport

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// When the check that crossed the threshold failed (its program writes the time just before it exits 1) to when the
/// stand-in rpm-ostreed received `Start`, on one real node: 42.1 known good, 42.2 booted on probation.
func decisionLatency() async throws -> Double {
    try await GuestSystem.waitRunning(60)
    let node = try await AgentNode.knownGoodOn421(busAddress: GuestSystem.address, driver: "rpm-ostree")
    defer { node.stop() }
    let failures = node.root + "/failures"
    // Same check on the update (interval 200 ms, threshold 2), plus the time of every failing probe.
    try node.editConfig(
        replacing: #"command = ["/bin/test", "-e", "\#(node.servicePath)"]"#,
        with: #"command = ["/bin/sh", "-c", "test -e \#(node.servicePath) && exit 0; date +%s.%N >> \#(failures); exit 1"]"#)
    guard let booted = try await node.sysroot.adminStatus().first(where: { $0.version == "42.2" }) else {
        throw BenchError("no 42.2 deployment")
    }
    let standIn = try await RpmOstreeStandIn.start(
        sysroot: node.sysroot.path, runDirectory: node.hostRun, hostRun: node.hostRun, booted: "\(booted.checksum).\(booted.serial)")
    defer { standIn.stop() }
    node.serviceUp = false
    try node.start()
    guard await waitUntil(30, { standIn.records().contains { $0.kind == "call" && $0.member == "Start" } }) else {
        throw BenchError("no Start call:\n\(node.log)\n\(standIn.output)")
    }
    guard let start = standIn.records().first(where: { $0.kind == "call" && $0.member == "Start" })?.fields["time"] as? Double else {
        throw BenchError("the Start record has no time")
    }
    let times = try String(contentsOfFile: failures, encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
    guard let last = times.last(where: { $0 <= start }) else { throw BenchError("no failure before Start") }
    // The agent asks logind to reboot the guest next; wait for it to come back before the next round.
    try await Task.sleep(for: .seconds(1))
    try await GuestSystem.waitRunning(60)
    return (start - last) * 1000
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "decision":
    let rounds = Int(arguments.dropFirst().first ?? "") ?? 5
    var latencies: [Double] = []
    for _ in 0..<rounds { latencies.append(try await decisionLatency()) }
    let data = try JSONSerialization.data(withJSONObject: ["decision_to_start_ms": latencies])
    print(String(decoding: data, as: UTF8.self))
default:
    FileHandle.standardError.write(Data("usage: rearguard-bench decision [N]\n".utf8))
    exit(64)
}
