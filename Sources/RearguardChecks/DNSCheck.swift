#if canImport(Glibc)
import Glibc
#endif
import CResolv
import RearguardCore

/// Asks a DNS server one question over a connected UDP socket (TCP when the answer is truncated);
/// answers are parsed with glibc's libresolv (`ns_initparse`, `ns_parserr`, `dn_expand`).
public struct DNSCheck: HealthCheck {
    /// What to ask and expect.
    public let target: DNSTarget

    /// A check for `target`.
    public init(target: DNSTarget) { self.target = target }

    static let typeCodes: [String: Int32] = [
        "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
    ]
    static let rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]

    /// Probes on a dedicated thread.
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let target = self.target
        return await DedicatedThread.run(name: "rearguard-dns", cancelled: .fail("timeout")) {
            Self.exchange(target, until: deadline)
        }
    }

    static func exchange(_ t: DNSTarget, until deadline: ContinuousClock.Instant) -> ProbeOutcome {
        guard let type = typeCodes[t.type] else { return .fail("unsupported type \(t.type)") }
        var query = [UInt8](repeating: 0, count: 512)
        let qlen = query.withUnsafeMutableBufferPointer { rg_res_mkquery(t.query, type, $0.baseAddress, 512) }
        guard qlen > 12 else { return .fail("res_mkquery: cannot build a query for \(t.query)") }
        query = Array(query.prefix(Int(qlen)))
        guard let address = SocketAddress.literal(t.server.host, port: t.server.port) else {
            return .fail("server \(t.server.host) is not an ip address")
        }
        do {
            var response = try udp(query, to: address, until: deadline)
            var transport = "udp"
            if response[2] & 0x02 != 0 {  // TC: the full answer needs TCP
                response = try tcp(query, to: address, until: deadline)
                transport = "tcp"
            }
            return evaluate(response, type: type, target: t, transport: transport)
        } catch {
            return .fail(error.message)
        }
    }

    static func udp(_ query: [UInt8], to address: SocketAddress, until deadline: ContinuousClock.Instant) throws(ProbeError) -> [UInt8] {
        let s = try Socket(family: address.family, type: Int32(SOCK_DGRAM.rawValue))
        try s.connect(to: address, until: deadline)
        try s.send(query)
        while true {
            let r = try s.receive(until: deadline)
            // A reply to someone else's question (or garbage) is ignored, not fatal.
            if r.count >= 12 && r[0] == query[0] && r[1] == query[1] && r[2] & 0x80 != 0 { return r }
        }
    }

    static func tcp(_ query: [UInt8], to address: SocketAddress, until deadline: ContinuousClock.Instant) throws(ProbeError) -> [UInt8] {
        let s = try Socket(family: address.family, type: Int32(SOCK_STREAM.rawValue))
        try s.connect(to: address, until: deadline)
        try s.sendAll([UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query, until: deadline)
        let len = try s.receiveExactly(2, until: deadline)
        let r = try s.receiveExactly(Int(len[0]) << 8 | Int(len[1]), until: deadline)
        guard r.count >= 12, r[0] == query[0], r[1] == query[1] else { throw .bad("tcp reply does not match the query") }
        return r
    }

    static func evaluate(_ response: [UInt8], type: Int32, target t: DNSTarget, transport: String) -> ProbeOutcome {
        let parsed = response.withUnsafeBufferPointer { buf -> (Int32, [String])? in
            var msg = ns_msg()
            guard ns_initparse(buf.baseAddress, Int32(buf.count), &msg) == 0 else { return nil }
            let rcode = ns_msg_getflag(msg, Int32(ns_f_rcode.rawValue))
            var answers: [String] = []
            for i in 0..<rg_ns_msg_count(&msg, ns_s_an) {
                var rr = ns_rr()
                guard ns_parserr(&msg, ns_s_an, i, &rr) == 0 else { return nil }
                guard rg_ns_rr_type(&rr) == type, let rdata = rg_ns_rr_rdata(&rr) else { continue }
                if let text = presentation(type: type, rdata: rdata, length: Int(rg_ns_rr_rdlen(&rr)), msg: &msg) {
                    answers.append(text)
                }
            }
            return (rcode, answers)
        }
        guard let (rcode, answers) = parsed else { return .fail("malformed reply") }
        let rcodeName = rcode >= 0 && Int(rcode) < rcodeNames.count ? rcodeNames[Int(rcode)] : "RCODE\(rcode)"
        let seen = answers.isEmpty ? "\(rcodeName), no answers" : "\(rcodeName) \(answers.joined(separator: ", "))"
        let via = transport == "tcp" ? " (tcp)" : ""
        guard rcodeName == t.expectRcode else { return .fail("expected \(t.expectRcode), got \(seen)\(via)") }
        if let expected = t.expectAnswers {
            let norm = { (s: String) in s.lowercased().hasSuffix(".") ? String(s.lowercased().dropLast()) : s.lowercased() }
            guard Set(answers.map(norm)) == Set(expected.map(norm)) else {
                return .fail("expected \(expected.joined(separator: ", ")), got \(seen)\(via)")
            }
        } else if rcodeName == "NOERROR" && answers.isEmpty {
            return .fail("NOERROR but no \(t.type) answers\(via)")
        }
        return .pass(seen + via)
    }

    static func presentation(type: Int32, rdata: UnsafePointer<UInt8>, length: Int, msg: inout ns_msg) -> String? {
        let base = rg_ns_msg_base(&msg)
        let end = rg_ns_msg_end(&msg)
        func name(at p: UnsafePointer<UInt8>) -> String? {
            var buf = [CChar](repeating: 0, count: 1025)
            guard dn_expand(base, end, p, &buf, 1025) >= 0 else { return nil }
            return cString(buf).lowercased()
        }
        func u16(_ at: Int) -> Int { Int(rdata[at]) << 8 | Int(rdata[at + 1]) }
        func u32(_ p: UnsafePointer<UInt8>) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(p[$1]) } }
        switch type {
        case 1, 28:
            let family = type == 1 ? AF_INET : AF_INET6
            guard length == (type == 1 ? 4 : 16) else { return nil }
            var buf = [CChar](repeating: 0, count: 64)
            guard inet_ntop(family, rdata, &buf, 64) != nil else { return nil }
            return cString(buf)
        case 2, 5, 12:
            return name(at: rdata)
        case 15:
            guard length > 2, let n = name(at: rdata + 2) else { return nil }
            return "\(u16(0)) \(n)"
        case 33:
            guard length > 6, let n = name(at: rdata + 6) else { return nil }
            return "\(u16(0)) \(u16(2)) \(u16(4)) \(n)"
        case 16:
            var text = "", i = 0
            while i < length {
                let n = Int(rdata[i])
                guard i + 1 + n <= length else { return nil }
                text += String(decoding: UnsafeBufferPointer(start: rdata + i + 1, count: n), as: UTF8.self)
                i += 1 + n
            }
            return text
        case 6:
            var buf = [CChar](repeating: 0, count: 1025)
            let l1 = dn_expand(base, end, rdata, &buf, 1025)
            guard l1 >= 0 else { return nil }
            let mname = cString(buf).lowercased()
            let l2 = dn_expand(base, end, rdata + Int(l1), &buf, 1025)
            guard l2 >= 0, Int(l1 + l2) + 20 <= length else { return nil }
            let rname = cString(buf).lowercased()
            let nums = (0..<5).map { u32(rdata + Int(l1 + l2) + 4 * $0) }
            return "\(mname) \(rname) " + nums.map(String.init).joined(separator: " ")
        default:
            return nil
        }
    }
}
