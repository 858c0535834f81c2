#if canImport(Glibc)
import Glibc
#endif
import RearguardCore

/// Opens a TCP connection (non-blocking connect with a deadline) and closes it.
public struct TCPCheck: HealthCheck {
    /// Where to connect.
    public let address: HostPort

    /// A check for `address`.
    public init(address: HostPort) { self.address = address }

    /// Probes on a dedicated thread (a host name is resolved there too).
    public func probe(until deadline: ContinuousClock.Instant) async -> ProbeOutcome {
        let address = self.address
        return await DedicatedThread.run(name: "rearguard-tcp", cancelled: .fail("timeout")) {
            switch SocketAddress.resolve(address) {
            case .failure(let e): return .fail(e.message)
            case .success(let a):
                do throws(ProbeError) {
                    let s = try Socket(family: a.family, type: Int32(SOCK_STREAM.rawValue))
                    try s.connect(to: a, until: deadline)
                    return .pass("connected to \(address)")
                } catch {
                    return .fail(error.message)
                }
            }
        }
    }
}
