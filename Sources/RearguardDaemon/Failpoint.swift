import FoundationEssentials
import Glibc
import Logging
import Posix

/// Named points in the rollback path where the fault tests stop the real process (SIGSTOP) so they can SIGKILL it
/// there, the way libostree and rpm-ostree inject faults for their own tests. Set `REARGUARD_FAILPOINT=<name>`;
/// unset (every real node) it does nothing. A kill during the transaction needs no failpoint: the tests hold the
/// stand-in rpm-ostreed's `Finished` back and kill the agent while it waits.
public enum Failpoint: String, Sendable, CaseIterable {
    /// A rollback was decided; nothing is written yet.
    case beforeIntent = "before-intent"
    /// The intent is on disk; the transaction has not been asked for.
    case afterIntent = "after-intent"
    /// The sysroot boots the good deployment first; the agent has not recorded that.
    case afterTransaction = "after-transaction"
    /// Everything is recorded; the reboot has not been asked for.
    case beforeReboot = "before-reboot"

    /// The failpoint selected by the environment, if any.
    public static let selected: Failpoint? = ProcessInfo.processInfo.environment["REARGUARD_FAILPOINT"].flatMap(Failpoint.init)

    /// Stops the process here when this failpoint is selected: says so on stderr, then SIGSTOPs itself.
    public func reach(_ logger: Logger) {
        guard Self.selected == self else { return }
        logger.warning("failpoint \(rawValue) reached: stopping", metadata: ["failpoint": .string(rawValue)])
        FileIO.write("rearguard: failpoint \(rawValue) reached\n")
        raise(SIGSTOP)
    }
}
