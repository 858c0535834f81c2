#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import RearguardCore

/// Sends a DHCPDISCOVER (expects an OFFER) or DHCPINFORM (expects an ACK) out of one interface.
///
/// Needs root (port 68, `SO_BINDTODEVICE`). No lease is taken: a DISCOVER is never followed by a
/// REQUEST, so the server only holds its offer briefly.
public struct DHCPCheck: HealthCheck {
    /// What to ask and expect.
    public let target: DHCPTarget

    /// A check for `target`.
    public init(target: DHCPTarget) { self.target = target }

    /// Probes on a dedicated thread.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let target = self.target
        return await DedicatedThread.run(name: "rearguard-dhcp", cancelled: .fail("timeout")) {
            Self.exchange(target, until: deadline)
        }
    }

    static func mac(of interface: String) -> [UInt8]? {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(interface)/address", encoding: .utf8) else { return nil }
        let bytes = text.trimmed.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : nil
    }

    static func ipv4(of interface: String) -> in_addr? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var p = list
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr, Int32(sa.pointee.sa_family) == AF_INET,
                String(cString: ifa.pointee.ifa_name) == interface
            else { continue }
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        }
        return nil
    }

    static func ipText(_ bytes: ArraySlice<UInt8>) -> String { bytes.map(String.init).joined(separator: ".") }

    static func packet(mac: [UInt8], xid: UInt32, type: UInt8, ciaddr: in_addr?, broadcast: Bool) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 240)
        p[0] = 1; p[1] = 1; p[2] = 6  // BOOTREQUEST, ethernet, hlen 6
        withUnsafeBytes(of: xid.bigEndian) { for i in 0..<4 { p[4 + i] = $0[i] } }
        if broadcast { p[10] = 0x80 }
        if let ciaddr { withUnsafeBytes(of: ciaddr.s_addr) { for i in 0..<4 { p[12 + i] = $0[i] } } }
        for i in 0..<6 { p[28 + i] = mac[i] }
        p[236] = 99; p[237] = 130; p[238] = 83; p[239] = 99  // magic cookie
        p += [53, 1, type]
        p += [61, 7, 1] + mac
        p += [55, 4, 1, 3, 6, 42]
        p += [255]
        return p
    }

    static func options(_ r: [UInt8]) -> [UInt8: ArraySlice<UInt8>] {
        var opts: [UInt8: ArraySlice<UInt8>] = [:]
        var i = 240
        while i < r.count && r[i] != 255 {
            if r[i] == 0 { i += 1; continue }
            guard i + 1 < r.count, i + 2 + Int(r[i + 1]) <= r.count else { break }
            opts[r[i]] = r[(i + 2)..<(i + 2 + Int(r[i + 1]))]
            i += 2 + Int(r[i + 1])
        }
        return opts
    }

    static func exchange(_ t: DHCPTarget, until deadline: ContinuousClock.Instant) -> ProbeOutcome {
        guard let mac = mac(of: t.interface) else { return .fail("no interface \(t.interface)") }
        var ciaddr: in_addr?
        if t.mode == .inform {
            guard let a = ipv4(of: t.interface) else { return .fail("interface \(t.interface) has no ipv4 address for inform") }
            ciaddr = a
        }
        let xid = UInt32.random(in: 1...UInt32.max)
        do throws(ProbeError) {
            let s = try Socket(family: AF_INET, type: Int32(SOCK_DGRAM.rawValue))
            var one: Int32 = 1
            setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(s.fd, SOL_SOCKET, SO_BROADCAST, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = t.interface.withCString { setsockopt(s.fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
            guard bound == 0 else { throw ProbeError.system("so_bindtodevice \(t.interface)", errno) }
            guard let local = SocketAddress.literal("0.0.0.0", port: 68) else { return .fail("internal: bad bind address") }
            guard local.withSockaddr({ bind(s.fd, $0, $1) }) == 0 else { throw ProbeError.system("bind port 68", errno) }
            let to = t.mode == .inform ? (t.expectServer ?? "255.255.255.255") : "255.255.255.255"
            guard let dest = SocketAddress.literal(to, port: 67) else { return .fail("bad server address \(to)") }
            let request = packet(mac: mac, xid: xid, type: t.mode == .discover ? 1 : 8, ciaddr: ciaddr, broadcast: t.mode == .discover)
            let sent = request.withUnsafeBytes { b in dest.withSockaddr { sendto(s.fd, b.baseAddress, b.count, 0, $0, $1) } }
            guard sent == request.count else { throw ProbeError.system("sendto \(to):67", errno) }
            let want: UInt8 = t.mode == .discover ? 2 : 5
            let names: [UInt8: String] = [2: "offer", 5: "ack", 6: "nak"]
            // Stop listening a little before the deadline (a tenth of what is left, 50 ms at most), so that "no reply
            // from the expected server" is ready while the engine still takes it, even from a thread woken late on
            // busy cores; otherwise the admin would see only the engine's bare "timeout".
            let listenUntil = deadline.advanced(by: .zero - min(.milliseconds(50), ContinuousClock.now.duration(to: deadline) / 10))
            while true {
                let r = try s.receive(max: 1500, until: listenUntil)
                guard r.count >= 240, r[0] == 2, Array(r[4..<8]) == withUnsafeBytes(of: xid.bigEndian, Array.init) else { continue }
                let opts = options(r)
                guard let type = opts[53]?.first else { continue }
                let server = opts[54].map(ipText) ?? "unknown server"
                if let expected = t.expectServer, server != expected {
                    // Another server answering is not our server answering: keep listening.
                    continue
                }
                let what = names[type] ?? "message type \(type)"
                guard type == want else { return .fail("\(what) from \(server)") }
                let yiaddr = ipText(r[16..<20])
                return .pass(t.mode == .discover ? "offer \(yiaddr) from \(server)" : "ack from \(server)")
            }
        } catch {
            if error == .timeout, let expected = t.expectServer { return .fail("timeout: no reply from \(expected)") }
            return .fail(error.message)
        }
    }
}
