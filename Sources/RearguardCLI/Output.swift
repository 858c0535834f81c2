import ArgumentParser
import Foundation

/// Data goes to stdout, diagnostics to stderr (STYLE U3).
enum Output {
    /// Writes a line to standard error.
    static func diagnostic(_ line: String) {
        FileHandle.standardError.write(Data("rearguard: \(line)\n".utf8))
    }

    /// Reports a failure on stderr and returns the exit code for it (1).
    static func failure(_ error: any Error) -> ExitCode {
        diagnostic("\(error)")
        return ExitCode(1)
    }
}

/// Formats dates for tables the way an admin reads them: UTC, to the minute.
enum TableDate {
    static func string(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}

/// A plain text table with left-aligned columns separated by two spaces.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
