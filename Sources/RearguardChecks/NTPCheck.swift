#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import RearguardCore

/// Sends one NTPv4 client (mode 3) request over a connected UDP socket and judges the server's reply.
public struct NTPCheck: HealthCheck {
    /// What to ask and expect.
    public let target: NTPTarget

    /// A check for `target`.
    public init(target: NTPTarget) { self.target = target }

    /// Probes on a dedicated thread.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let target = self.target
        return await DedicatedThread.run(name: "rearguard-ntp", cancelled: .fail("timeout")) {
            Self.exchange(target, until: deadline)
        }
    }

    static let epochOffset: Double = 2_208_988_800  // 1900 -> 1970

    static func timestamp(_ bytes: ArraySlice<UInt8>) -> Double {
        let b = Array(bytes)
        let sec = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(b[$1]) }
        let frac = (4..<8).reduce(UInt32(0)) { $0 << 8 | UInt32(b[$1]) }
        return Double(sec) - epochOffset + Double(frac) / 4_294_967_296
    }

    static func exchange(_ t: NTPTarget, until deadline: ContinuousClock.Instant) -> ProbeOutcome {
        guard let address = SocketAddress.literal(t.server.host, port: t.server.port) else {
            return .fail("server \(t.server.host) is not an ip address")
        }
        var request = [UInt8](repeating: 0, count: 48)
        request[0] = (0 << 6) | (4 << 3) | 3  // LI 0, version 4, mode 3 (client)
        // The transmit timestamp is random, not the clock: the reply must echo it as origin.
        for i in 40..<48 { request[i] = UInt8.random(in: 0...255) }
        do {
            let s = try Socket(family: address.family, type: Int32(SOCK_DGRAM.rawValue))
            try s.connect(to: address, until: deadline)
            let t1 = Date().timeIntervalSince1970
            try s.send(request)
            while true {
                let r = try s.receive(until: deadline)
                let t4 = Date().timeIntervalSince1970
                guard r.count >= 48, Array(r[24..<32]) == Array(request[40..<48]) else { continue }
                return judge(r, t1: t1, t4: t4, target: t)
            }
        } catch {
            return .fail(error.message)
        }
    }

    static func judge(_ r: [UInt8], t1: Double, t4: Double, target t: NTPTarget) -> ProbeOutcome {
        let li = r[0] >> 6, mode = r[0] & 7, stratum = Int(r[1])
        guard mode == 4 else { return .fail("reply mode \(mode), expected 4 (server)") }
        // Receive/transmit times are server clock; the origin echo proved the reply is ours.
        let t2 = timestamp(r[32..<40]), t3 = timestamp(r[40..<48])
        let offset = ((t2 - t1) + (t3 - t4)) / 2
        let offsetText = (offset * 1000).fixed(3) + "ms"
        if stratum == 0 {
            let kiss = String(decoding: r[12..<16].filter { $0 >= 0x20 && $0 < 0x7f }, as: UTF8.self)
            return .fail("stratum 0 (unsynchronised\(kiss.isEmpty ? "" : ", kiss code \(kiss)")), leap \(li)")
        }
        guard li != 3 else { return .fail("leap indicator 3: server clock unsynchronised (stratum \(stratum))") }
        guard stratum <= t.maxStratum else { return .fail("stratum \(stratum) above max_stratum \(t.maxStratum)") }
        if let max = t.maxOffset, abs(offset) > ConfigDuration.seconds(max) {
            return .fail("offset \(offsetText) beyond \(ConfigDuration.render(max))")
        }
        return .pass("stratum \(stratum), offset \(offsetText)")
    }
}
