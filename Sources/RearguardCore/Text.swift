/// The few text helpers the agent needs from what Foundation's `NSString` bridging used to give (STYLE: no ICU).
extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines.
    public var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

extension Double {
    /// The value with exactly `decimals` digits after the point, rounded half away from zero (`%.Nf`).
    public func fixed(_ decimals: Int) -> String {
        guard isFinite else { return isNaN ? "nan" : (self < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<max(decimals, 0) { scale *= 10 }
        let scaled = (abs(self) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return String(self) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        var text = (self < 0 && units > 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(units % UInt64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }
}

extension String {
    /// The text padded with spaces on the right to `width` characters (never cut).
    public func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
