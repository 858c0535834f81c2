import CSystemd
import FoundationEssentials
import Glibc
import Logging
import Posix

/// A swift-log handler that writes structured entries to journald (`sd_journal_sendv_with_location`).
///
/// Metadata keys become journal fields in upper case (`rearguard_check` -> `REARGUARD_CHECK`); the
/// key `message_id` (a 32-hex-digit id) becomes `MESSAGE_ID`. Use `JournalLogHandler.standard(label:)`
/// to get journald when its socket exists and stderr otherwise (STYLE G2).
public struct JournalLogHandler: LogHandler {
    /// The metadata key whose value becomes the entry's `MESSAGE_ID`.
    public static let messageIDKey = "message_id"
    /// journald's native socket; its presence means "running under systemd".
    public static let socketPath = "/run/systemd/journal/socket"

    /// Written as `SYSLOG_IDENTIFIER`.
    public let label: String
    /// Entries below this level are dropped (by swift-log).
    public var logLevel: Logger.Level = .info
    /// Metadata added to every entry.
    public var metadata: Logger.Metadata = [:]
    /// Metadata read at each log call (e.g. from task locals).
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler that tags entries with `label`.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    /// journald when its socket is there, else stderr without timestamps.
    public static func standard(label: String) -> any LogHandler {
        if access(socketPath, W_OK) == 0 { return JournalLogHandler(label: label) }
        return StderrLogHandler(label: label)
    }

    /// One metadata value by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Sends one journal entry with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_* and the metadata fields.
    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=\(label)",
        ]
        if let error = event.error { fields.append("ERROR=\(error)") }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            let name = key == Self.messageIDKey ? "MESSAGE_ID" : Self.fieldName(key)
            guard !name.isEmpty else { continue }
            fields.append("\(name)=\(value)")
        }
        Self.send(fields, file: event.file, line: event.line, function: event.function)
    }

    /// Sends one entry; each field is one iovec, so values may contain newlines.
    static func send(_ fields: [String], file: String, line: UInt, function: String) {
        let buffers = fields.map { field -> UnsafeMutableRawBufferPointer in
            let utf8 = Array(field.utf8)
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, utf8.count), alignment: 1)
            b.copyBytes(from: utf8)
            return UnsafeMutableRawBufferPointer(rebasing: b[0..<utf8.count])
        }
        defer { for b in buffers { b.deallocate() } }
        let iovecs = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        _ = sd_journal_sendv_with_location("CODE_FILE=\(file)", "CODE_LINE=\(line)", function, iovecs, Int32(iovecs.count))
    }

    /// syslog priority of a swift-log level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// A journal field name: upper-case letters, digits and `_`, not starting with `_` or a digit.
    static func fieldName(_ key: String) -> String {
        var name = String(key.uppercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) ? c : "_"
        })
        while let f = name.first, f == "_" || f.isNumber { name.removeFirst() }
        return String(name.prefix(64))
    }
}

/// Plain stderr lines without timestamps (journald or the container runtime adds those).
public struct StderrLogHandler: LogHandler {
    /// Printed before each message.
    public let label: String
    /// Entries below this level are dropped (by swift-log).
    public var logLevel: Logger.Level = .info
    /// Metadata added to every entry.
    public var metadata: Logger.Metadata = [:]

    /// Creates a handler that writes to stderr.
    public init(label: String) { self.label = label }

    /// One metadata value by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line: level, label, message, then sorted key=value metadata.
    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var line = "\(event.level) \(label): \(event.message)"
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(v)" }
        if let error = event.error { line += " error=\(error)" }
        line += "\n"
        FileIO.write(line)
    }
}
