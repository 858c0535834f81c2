#if canImport(Glibc)
import Glibc
#endif

/// The few text helpers the agent needs from what Foundation's `NSString` bridging used to give (STYLE: no ICU).
extension StringProtocol {
    /// The text without leading and trailing whitespace and newlines.
    public var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

extension Double {
    /// The value with exactly `decimals` digits after the point, as C's `%.*f` writes it (glibc's `vsnprintf`).
    public func fixed(_ decimals: Int) -> String {
        let arguments: [any CVarArg] = [Int32(max(0, min(decimals, 17))), self]
        // Formats into `buffer`; the length printf wanted (a larger value than fits is asked for again).
        func format(_ buffer: inout [CChar]) -> Int32 {
            withVaList(arguments) { list in buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", list) } }
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let written = format(&buffer)
        guard written >= 0 else { return String(self) }
        if Int(written) >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(written) + 1)
            _ = format(&buffer)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    /// The text padded with spaces on the right to `width` characters (never cut).
    public func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
