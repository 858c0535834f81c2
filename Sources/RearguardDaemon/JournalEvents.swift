import Logging
import RearguardCore

/// Stable journald `MESSAGE_ID`s, one per kind of decision, so admins can `journalctl MESSAGE_ID=...` and alert on them.
/// Never change a published value: dashboards and alert rules key on them.
public enum JournalEvents {
    /// The MESSAGE_ID of each decision kind (128-bit, hex, as journald expects).
    public static func messageID(_ kind: Assessment.Decision.Kind) -> String {
        switch kind {
        case .bootMarkedGood: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a01"
        case .rollbackStarted: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a02"
        case .rollbackDone: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a03"
        case .quarantineEntered: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a04"
        case .updatesHeld: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a05"
        case .updatesReleased: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a06"
        case .rollbackWithheld: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a07"
        case .unitsRestarted: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a08"
        case .finalizationFailed: "4d3c7a1e0b6f4f0e9a3b2c1d5e6f7a09"
        }
    }

    /// Logs a decision with its MESSAGE_ID (the journal handler turns the `message_id` metadata into the field).
    public static func log(_ decision: Assessment.Decision, to logger: Logger) {
        let level: Logger.Level = switch decision.action {
        case .bootMarkedGood, .updatesReleased, .updatesHeld, .unitsRestarted: .notice
        case .rollbackStarted, .rollbackDone, .rollbackWithheld: .warning
        case .quarantineEntered, .finalizationFailed: .error
        }
        logger.log(
            level: level, "\(decision.action.rawValue): \(decision.reason)",
            metadata: [
                "message_id": .string(messageID(decision.action)),
                "deployment": .string(decision.deployment),
                "decision": .string(decision.action.rawValue),
            ])
    }
}
