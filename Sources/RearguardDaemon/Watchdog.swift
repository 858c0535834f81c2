import FoundationEssentials
import Glibc
import Logging
import ServiceLifecycle
import Systemd

/// Pings systemd's watchdog (`WATCHDOG=1`) at half the interval systemd asks for (`WATCHDOG_USEC`) or the configured
/// `[daemon] watchdog`; does nothing when neither is set.
public struct WatchdogService: Service {
    /// The interval between pings, or nil for none.
    public let interval: Duration?
    private let logger: Logger

    /// `configured` wins over systemd's `WATCHDOG_USEC` (which is honoured only when `WATCHDOG_PID` is ours or unset).
    public init(configured: Duration?, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.logger = logger
        if let configured {
            interval = configured / 2
        } else if let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0,
                  environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            interval = .microseconds(usec) / 2
        } else {
            interval = nil
        }
    }

    /// Pings until a graceful shutdown or cancellation.
    public func run() async throws {
        guard let interval else { return try await gracefulShutdown() }
        let notifier = Notifier()
        let logger = logger
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try notifier.watchdog()
                } catch {
                    logger.warning("watchdog ping failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
