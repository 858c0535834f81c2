/// Durations as config files write them: an integer and a unit, e.g. `"500ms"`, `"2s"`, `"10m"`, `"1h"`.
public enum ConfigDuration {
    /// Parses `"500ms"`, `"2s"`, `"10m"`, `"1h"` (also `"0s"`); nil when the text is not one of these.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            // "10m" also ends in "m" of "ms"? No: "ms" is tried first, so "10ms" never reaches "m".
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int64(digits), value <= Int64.max / 3_600_000
            else { return nil }
            return .milliseconds(value * millis)
        }
        return nil
    }

    /// Renders a duration the way `parse` reads it, choosing the largest exact unit.
    public static func render(_ duration: Duration) -> String {
        let millis = milliseconds(duration)
        if millis != 0 && millis % 3_600_000 == 0 { return "\(millis / 3_600_000)h" }
        if millis != 0 && millis % 60_000 == 0 { return "\(millis / 60_000)m" }
        if millis % 1_000 == 0 { return "\(millis / 1_000)s" }
        return "\(millis)ms"
    }

    /// Whole milliseconds in `duration` (sub-millisecond parts are dropped).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds as a floating-point number.
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
