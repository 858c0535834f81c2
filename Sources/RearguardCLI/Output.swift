import ArgumentParser
import FoundationEssentials
import Posix
import RearguardCore

/// Data goes to stdout, diagnostics to stderr (STYLE U3).
enum Output {
    /// Writes a line to standard error.
    static func diagnostic(_ line: String) {
        FileIO.write("rearguard: \(line)\n")
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
        // ISO 8601 in UTC ("2026-12-06T05:01:03Z") without ICU; keep the date and the minute.
        let iso = date.formatted(Date.ISO8601FormatStyle())
        return iso.prefix(10) + " " + iso.dropFirst(11).prefix(5) + " UTC"
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
                column == row.count - 1 ? cell : cell.padded(to: widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
