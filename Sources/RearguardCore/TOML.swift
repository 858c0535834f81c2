/// A TOML 1.0 document read into plain values: what Rearguard's config and Zincati's drop-ins are written in.
///
/// Rearguard used TOMLKit, whose Swift layer imports Foundation and with it ICU (tens of MB mapped into an agent that
/// only ever reads a few strings and integers). This reader has no dependency at all. It accepts exactly TOML 1.0,
/// every value type included (dates and times are kept as written), and rejects the rest with the line and column;
/// `TOMLConformanceTests` hold it against Python's `tomllib` on valid and invalid documents.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// An offset date-time, local date-time, local date or local time, as written (`T` and `Z` upper-cased).
    case dateTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The string, when this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The integer, when this is one that fits `Int`.
    public var int: Int? { if case .integer(let i) = self { Int(exactly: i) } else { nil } }
    /// The boolean, when this is one.
    public var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
    /// The elements, when this is an array (an array of tables included).
    public var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    /// The table, when this is one.
    public var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
}

/// A TOML table: keys to values.
public struct TOMLTable: Sendable, Equatable {
    /// The key/value pairs.
    public var entries: [String: TOMLValue]

    /// A table of `entries`.
    public init(_ entries: [String: TOMLValue] = [:]) { self.entries = entries }

    /// The keys, in no particular order.
    public var keys: Dictionary<String, TOMLValue>.Keys { entries.keys }

    /// The value of `key`.
    public subscript(key: String) -> TOMLValue? { entries[key] }

    /// Parses a whole document; `TOMLSyntaxError` names the line and column of the first error.
    public init(parsing text: String) throws(TOMLSyntaxError) {
        var parser = TOMLParser(Array(text.utf8))
        self = try parser.document()
    }
}

/// Why a document is not TOML, and where (1-based line and column, in bytes).
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line.
    public var line: Int
    /// The 1-based column, in bytes.
    public var column: Int
    /// A lowercase phrase.
    public var reason: String

    /// An error at `line` and `column`.
    public init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}

// MARK: - parsing

/// A table being built: what defined it decides what may still add to it (TOML 1.0, "Table" and "Array of Tables").
private final class Node {
    enum Origin {
        /// Made on the way to a deeper `[a.b]` header: a later `[a]` may still define it.
        case implicit
        /// Defined by its own `[header]` or `[[header]]` element.
        case header
        /// Made by a dotted key (`a.b = 1`): keys may add to it within the same table, headers may not.
        case dotted
        /// An inline table: closed once written.
        case inline
    }

    var origin: Origin
    var order: [String] = []
    var values: [String: Slot] = [:]

    init(_ origin: Origin) { self.origin = origin }

    enum Slot {
        case value(TOMLValue)
        case table(Node)
        /// An array made by `[[header]]`: later headers append to it.
        case tables([Node])
    }

    func set(_ key: String, _ slot: Slot) {
        if values.updateValue(slot, forKey: key) == nil { order.append(key) }
    }

    func value() -> TOMLTable {
        var entries: [String: TOMLValue] = [:]
        for (key, slot) in values {
            switch slot {
            case .value(let v): entries[key] = v
            case .table(let node): entries[key] = .table(node.value())
            case .tables(let nodes): entries[key] = .array(nodes.map { .table($0.value()) })
            }
        }
        return TOMLTable(entries)
    }
}

private struct TOMLParser {
    let bytes: [UInt8]
    var i = 0
    /// Arrays and inline tables open inside each other; a bound keeps a hostile file from exhausting the stack.
    var depth = 0
    static let maxDepth = 128

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
    private func peek(_ offset: Int) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }

    private func fail(_ reason: String, at position: Int? = nil) -> TOMLSyntaxError {
        let at = min(position ?? i, bytes.count)
        var line = 1
        var lineStart = 0
        for (index, byte) in bytes[0..<at].enumerated() where byte == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return TOMLSyntaxError(line: line, column: at - lineStart + 1, reason: reason)
    }

    private static func isBare(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    // MARK: whitespace, comments, newlines

    private mutating func skipSpaces() {
        while let b = peek, b == 0x20 || b == 0x09 { i += 1 }
    }

    /// A comment runs to the end of the line; control characters other than tab are not allowed in it.
    private mutating func skipComment() throws(TOMLSyntaxError) {
        guard peek == 0x23 else { return }
        while let b = peek, b != 0x0A {
            if b == 0x0D, peek(1) == 0x0A { return }
            if (b < 0x20 && b != 0x09) || b == 0x7F { throw fail("control character in a comment") }
            i += 1
        }
    }

    /// The end of a line (LF or CRLF) or of the document; anything else is an error.
    private mutating func endOfLine() throws(TOMLSyntaxError) {
        skipSpaces()
        try skipComment()
        guard let b = peek else { return }
        if b == 0x0A { i += 1; return }
        if b == 0x0D, peek(1) == 0x0A { i += 2; return }
        throw fail("expected the end of the line")
    }

    /// Skips whitespace, newlines and comments inside an array.
    private mutating func skipBlank() throws(TOMLSyntaxError) {
        while true {
            skipSpaces()
            try skipComment()
            if peek == 0x0A { i += 1; continue }
            if peek == 0x0D, peek(1) == 0x0A { i += 2; continue }
            return
        }
    }

    // MARK: document

    mutating func document() throws(TOMLSyntaxError) -> TOMLTable {
        let root = Node(.header)
        var current = root
        // Tables defined by a dotted key in the current table's body may take more dotted keys only there.
        var openDotted: Set<ObjectIdentifier> = []
        while true {
            try skipBlank()
            guard let b = peek else { break }
            if b == 0x5B {  // [
                let start = i
                let isArray = peek(1) == 0x5B
                i += isArray ? 2 : 1
                skipSpaces()
                let path = try key()
                skipSpaces()
                guard peek == 0x5D, !isArray || peek(1) == 0x5D else { throw fail("expected ] to close the table header") }
                i += isArray ? 2 : 1
                try endOfLine()
                current = try isArray ? appendTable(root, path, at: start) : defineTable(root, path, at: start)
                openDotted = []
            } else {
                try keyValue(into: current, openDotted: &openDotted)
                try endOfLine()
            }
        }
        return root.value()
    }

    /// `[a.b.c]`: walks to `c`, creating implicit tables, and defines it.
    private func defineTable(_ root: Node, _ path: [String], at start: Int) throws(TOMLSyntaxError) -> Node {
        let parent = try walk(root, Array(path.dropLast()), at: start)
        let last = path[path.count - 1]
        switch parent.values[last] {
        case nil:
            let node = Node(.header)
            parent.set(last, .table(node))
            return node
        case .table(let node) where node.origin == .implicit:
            node.origin = .header
            return node
        default:
            throw fail("\(Self.dotted(path)) is defined more than once", at: start)
        }
    }

    /// `[[a.b]]`: appends a new table to the array `a.b`.
    private func appendTable(_ root: Node, _ path: [String], at start: Int) throws(TOMLSyntaxError) -> Node {
        let parent = try walk(root, Array(path.dropLast()), at: start)
        let last = path[path.count - 1]
        let node = Node(.header)
        switch parent.values[last] {
        case nil: parent.set(last, .tables([node]))
        case .tables(let nodes): parent.set(last, .tables(nodes + [node]))
        default: throw fail("\(Self.dotted(path)) is not an array of tables", at: start)
        }
        return node
    }

    /// Walks a header's leading keys: into tables (the last element of an array of tables), creating implicit ones.
    private func walk(_ root: Node, _ path: [String], at start: Int) throws(TOMLSyntaxError) -> Node {
        var node = root
        for key in path {
            switch node.values[key] {
            case nil:
                let child = Node(.implicit)
                node.set(key, .table(child))
                node = child
            case .table(let child) where child.origin != .inline:
                node = child
            case .tables(let nodes):
                guard let last = nodes.last else { throw fail("\(key) is an empty array", at: start) }
                node = last
            default:
                throw fail("\(key) is already a value, not a table", at: start)
            }
        }
        return node
    }

    /// `a.b.c = value` inside `table`.
    private mutating func keyValue(into table: Node, openDotted: inout Set<ObjectIdentifier>) throws(TOMLSyntaxError) {
        let start = i
        let path = try key()
        skipSpaces()
        guard peek == 0x3D else { throw fail("expected = after the key") }
        i += 1
        skipSpaces()
        let value = try self.value()
        var node = table
        for key in path.dropLast() {
            switch node.values[key] {
            case nil:
                let child = Node(.dotted)
                node.set(key, .table(child))
                openDotted.insert(ObjectIdentifier(child))
                node = child
            case .table(let child) where child.origin == .dotted && openDotted.contains(ObjectIdentifier(child)):
                node = child
            case .table(let child) where child.origin == .implicit:
                // Made on the way to a deeper header: dotted keys define it now, and no header may later.
                child.origin = .dotted
                openDotted.insert(ObjectIdentifier(child))
                node = child
            default:
                throw fail("\(Self.dotted(path)) extends \(key), which is already defined", at: start)
            }
        }
        let last = path[path.count - 1]
        guard node.values[last] == nil else { throw fail("\(Self.dotted(path)) is defined more than once", at: start) }
        switch value {
        case .node(let inline): node.set(last, .table(inline))
        case .plain(let plain): node.set(last, .value(plain))
        }
    }

    private static func dotted(_ path: [String]) -> String { path.joined(separator: ".") }

    // MARK: keys

    /// A dotted key: bare or quoted parts, whitespace allowed around the dots.
    private mutating func key() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            guard let b = peek else { throw fail("expected a key") }
            if b == 0x22 {
                guard peek(1) != 0x22 || peek(2) != 0x22 else { throw fail("a key cannot be a multi-line string") }
                parts.append(try basicString())
            } else if b == 0x27 {
                guard peek(1) != 0x27 || peek(2) != 0x27 else { throw fail("a key cannot be a multi-line string") }
                parts.append(try literalString())
            } else if Self.isBare(b) {
                let start = i
                while let c = peek, Self.isBare(c) { i += 1 }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            } else {
                throw fail("expected a key")
            }
            skipSpaces()
            guard peek == 0x2E else { return parts }
            i += 1
            skipSpaces()
        }
    }

    // MARK: values

    private enum Parsed {
        case plain(TOMLValue)
        case node(Node)

        var value: TOMLValue {
            switch self {
            case .plain(let v): v
            case .node(let n): .table(n.value())
            }
        }
    }

    private mutating func value() throws(TOMLSyntaxError) -> Parsed {
        guard let b = peek else { throw fail("expected a value") }
        if b == 0x5B || b == 0x7B {
            guard depth < Self.maxDepth else { throw fail("arrays and inline tables nested deeper than \(Self.maxDepth)") }
            depth += 1
        }
        defer { if b == 0x5B || b == 0x7B { depth -= 1 } }
        switch b {
        case 0x22:
            if peek(1) == 0x22, peek(2) == 0x22 { return .plain(.string(try multilineString(quote: 0x22))) }
            return .plain(.string(try basicString()))
        case 0x27:
            if peek(1) == 0x27, peek(2) == 0x27 { return .plain(.string(try multilineString(quote: 0x27))) }
            return .plain(.string(try literalString()))
        case 0x5B: return .plain(try array())
        case 0x7B: return .node(try inlineTable())
        default: return .plain(try scalar())
        }
    }

    private mutating func array() throws(TOMLSyntaxError) -> TOMLValue {
        i += 1  // [
        var elements: [TOMLValue] = []
        while true {
            try skipBlank()
            if peek == 0x5D { i += 1; return .array(elements) }
            elements.append(try value().value)
            try skipBlank()
            if peek == 0x2C { i += 1; continue }
            guard peek == 0x5D else { throw fail("expected , or ] in the array") }
            i += 1
            return .array(elements)
        }
    }

    private mutating func inlineTable() throws(TOMLSyntaxError) -> Node {
        i += 1  // {
        let node = Node(.inline)
        var openDotted: Set<ObjectIdentifier> = []
        skipSpaces()
        if peek == 0x7D { i += 1; return node }
        while true {
            skipSpaces()
            try keyValue(into: node, openDotted: &openDotted)
            skipSpaces()
            if peek == 0x2C { i += 1; continue }
            guard peek == 0x7D else { throw fail("expected , or } in the inline table (it must stay on one line)") }
            i += 1
            close(node)
            return node
        }
    }

    /// Inline tables and the dotted tables inside them are closed once written.
    private func close(_ node: Node) {
        node.origin = .inline
        for slot in node.values.values { if case .table(let child) = slot { close(child) } }
    }

    // MARK: strings

    private mutating func basicString() throws(TOMLSyntaxError) -> String {
        i += 1  // "
        var out: [UInt8] = []
        while true {
            guard let b = peek else { throw fail("unterminated string") }
            switch b {
            case 0x22: i += 1; return try utf8(out)
            case 0x5C: try escape(into: &out)
            case 0x0A, 0x0D: throw fail("newline in a single-line string")
            default:
                if (b < 0x20 && b != 0x09) || b == 0x7F { throw fail("control character in a string") }
                out.append(b)
                i += 1
            }
        }
    }

    /// `"""..."""` (escapes, line-ending backslashes) or `'''...'''` (as written), by `quote`.
    private mutating func multilineString(quote: UInt8) throws(TOMLSyntaxError) -> String {
        i += 3
        try trimFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let b = peek else { throw fail("unterminated multi-line string") }
            if b == quote, peek(1) == quote, peek(2) == quote {
                // Up to two quotes may sit right before the closing three.
                var extra = 0
                while extra < 2, peek(3 + extra) == quote { extra += 1 }
                out += Array(repeating: quote, count: extra)
                i += 3 + extra
                return try utf8(out)
            }
            if quote == 0x22, b == 0x5C {
                // A backslash at the end of a line eats the newline and the whitespace after it.
                var j = i + 1
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j < bytes.count, bytes[j] == 0x0A || (bytes[j] == 0x0D && j + 1 < bytes.count && bytes[j + 1] == 0x0A) {
                    i = j
                    while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || (c == 0x0D && peek(1) == 0x0A) { i += 1 }
                    continue
                }
                try escape(into: &out)
                continue
            }
            try multilineByte(b, into: &out)
        }
    }

    private mutating func literalString() throws(TOMLSyntaxError) -> String {
        i += 1  // '
        let start = i
        while true {
            guard let b = peek else { throw fail("unterminated string") }
            if b == 0x27 {
                i += 1
                return try utf8(Array(bytes[start..<(i - 1)]))
            }
            if b == 0x0A || b == 0x0D { throw fail("newline in a single-line string") }
            if (b < 0x20 && b != 0x09) || b == 0x7F { throw fail("control character in a string") }
            i += 1
        }
    }

    private mutating func trimFirstNewline() throws(TOMLSyntaxError) {
        if peek == 0x0A { i += 1 } else if peek == 0x0D, peek(1) == 0x0A { i += 2 }
    }

    private mutating func multilineByte(_ b: UInt8, into out: inout [UInt8]) throws(TOMLSyntaxError) {
        if b == 0x0D {
            guard peek(1) == 0x0A else { throw fail("bare carriage return in a string") }
            out.append(0x0A)
            i += 2
            return
        }
        if (b < 0x20 && b != 0x09 && b != 0x0A) || b == 0x7F { throw fail("control character in a string") }
        out.append(b)
        i += 1
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLSyntaxError) {
        let start = i
        i += 1  // backslash
        guard let e = peek else { throw fail("unterminated escape") }
        i += 1
        switch e {
        case 0x62: out.append(0x08)
        case 0x74: out.append(0x09)
        case 0x6E: out.append(0x0A)
        case 0x66: out.append(0x0C)
        case 0x72: out.append(0x0D)
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x75, 0x55:
            let count = e == 0x75 ? 4 : 8
            guard i + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[i..<(i + count)], as: UTF8.self), radix: 16),
                  bytes[i..<(i + count)].allSatisfy({ Self.isHex($0) }),
                  let scalar = Unicode.Scalar(code)
            else { throw fail("invalid unicode escape", at: start) }
            out += Array(String(Character(scalar)).utf8)
            i += count
        default:
            throw fail("invalid escape sequence", at: start)
        }
    }

    private static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) }

    private func utf8(_ bytes: [UInt8]) throws(TOMLSyntaxError) -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("invalid UTF-8") }
        return s
    }

    // MARK: numbers, booleans, dates

    private mutating func scalar() throws(TOMLSyntaxError) -> TOMLValue {
        let start = i
        // Dates: four digits and a dash; times: two digits and a colon.
        if bytes.count - i >= 5, bytes[i..<(i + 4)].allSatisfy(Self.isDigit), bytes[i + 4] == 0x2D {
            return try dateTime()
        }
        if bytes.count - i >= 3, Self.isDigit(bytes[i]), Self.isDigit(bytes[i + 1]), bytes[i + 2] == 0x3A {
            return .dateTime(try time())
        }
        while let b = peek, Self.isBare(b) || b == 0x2B || b == 0x2E { i += 1 }
        let token = String(decoding: bytes[start..<i], as: UTF8.self)
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        case "": throw fail("expected a value", at: start)
        default: break
        }
        if let int = try integer(token, at: start) { return .integer(int) }
        return .float(try float(token, at: start))
    }

    /// Digits with single underscores between them, at least one digit.
    private static func digits(_ s: Substring, _ isDigit: (Character) -> Bool) -> String? {
        guard let first = s.first, let last = s.last, isDigit(first), isDigit(last) else { return nil }
        var previousUnderscore = false
        for c in s {
            if c == "_" {
                if previousUnderscore { return nil }
                previousUnderscore = true
            } else if isDigit(c) {
                previousUnderscore = false
            } else {
                return nil
            }
        }
        return String(s.filter { $0 != "_" })
    }

    private func integer(_ token: String, at start: Int) throws(TOMLSyntaxError) -> Int64? {
        let body = Substring(token)
        for (prefix, radix, isDigit) in [("0x", 16, { (c: Character) in c.isHexDigit }), ("0o", 8, { (c: Character) in ("0"..."7").contains(c) }), ("0b", 2, { (c: Character) in c == "0" || c == "1" })] where body.hasPrefix(prefix) {
            guard let digits = Self.digits(body.dropFirst(2), isDigit), let value = UInt64(digits, radix: radix), let int = Int64(exactly: value) else {
                throw fail("invalid or too large integer \(token)", at: start)
            }
            return int
        }
        guard !token.contains("."), !token.contains("e"), !token.contains("E") else { return nil }
        var unsigned = body
        if let sign = unsigned.first, sign == "+" || sign == "-" { unsigned = unsigned.dropFirst() }
        guard let digits = Self.digits(unsigned, { $0.isASCII && $0.isNumber }), digits == "0" || !digits.hasPrefix("0"),
              let value = Int64(body.first == "-" ? "-" + digits : digits)
        else { throw fail("invalid or too large integer \(token)", at: start) }
        return value
    }

    private func float(_ token: String, at start: Int) throws(TOMLSyntaxError) -> Double {
        var rest = Substring(token)
        var text = ""
        if let sign = rest.first, sign == "+" || sign == "-" {
            text.append(sign)
            rest = rest.dropFirst()
        }
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        let mantissaEnd = rest.firstIndex { $0 == "e" || $0 == "E" } ?? rest.endIndex
        let mantissa = rest[..<mantissaEnd]
        let intEnd = mantissa.firstIndex(of: ".") ?? mantissa.endIndex
        guard let intPart = Self.digits(mantissa[..<intEnd], isDigit), intPart == "0" || !intPart.hasPrefix("0") else {
            throw fail("invalid number \(token)", at: start)
        }
        text += intPart
        if intEnd < mantissa.endIndex {
            guard let frac = Self.digits(mantissa[mantissa.index(after: intEnd)...], isDigit) else { throw fail("invalid number \(token)", at: start) }
            text += "." + frac
        }
        if mantissaEnd < rest.endIndex {
            var exponent = rest[rest.index(after: mantissaEnd)...]
            text += "e"
            if let sign = exponent.first, sign == "+" || sign == "-" {
                text.append(sign)
                exponent = exponent.dropFirst()
            }
            guard let digits = Self.digits(exponent, isDigit) else { throw fail("invalid number \(token)", at: start) }
            text += digits
        } else if intEnd == mantissa.endIndex {
            throw fail("invalid number \(token)", at: start)
        }
        guard let value = Double(text) else { throw fail("invalid number \(token)", at: start) }
        return value
    }

    private mutating func fixedDigits(_ count: Int) throws(TOMLSyntaxError) -> Int {
        guard bytes.count - i >= count, bytes[i..<(i + count)].allSatisfy(Self.isDigit) else { throw fail("invalid date or time") }
        var value = 0
        for b in bytes[i..<(i + count)] { value = value * 10 + Int(b - 0x30) }
        i += count
        return value
    }

    private mutating func expect(_ byte: UInt8) throws(TOMLSyntaxError) {
        guard peek == byte else { throw fail("invalid date or time") }
        i += 1
    }

    private mutating func dateTime() throws(TOMLSyntaxError) -> TOMLValue {
        let start = i
        let year = try fixedDigits(4)
        try expect(0x2D)
        let month = try fixedDigits(2)
        try expect(0x2D)
        let day = try fixedDigits(2)
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[month - 1]).contains(day) else { throw fail("invalid date", at: start) }
        var text = String(decoding: bytes[start..<i], as: UTF8.self)
        // A time follows after T, t or one space (then a digit must follow).
        guard let b = peek, b == 0x54 || b == 0x74 || (b == 0x20 && peek(1).map(Self.isDigit) == true) else {
            return .dateTime(text)
        }
        i += 1
        text += "T" + (try time())
        if let z = peek, z == 0x5A || z == 0x7A {
            i += 1
            text += "Z"
        } else if let sign = peek, sign == 0x2B || sign == 0x2D {
            i += 1
            let hours = try fixedDigits(2)
            try expect(0x3A)
            let minutes = try fixedDigits(2)
            guard hours < 24, minutes < 60 else { throw fail("invalid time offset", at: start) }
            text += String(decoding: bytes[(i - 6)..<i], as: UTF8.self)
        }
        return .dateTime(text)
    }

    private mutating func time() throws(TOMLSyntaxError) -> String {
        let start = i
        let hour = try fixedDigits(2)
        try expect(0x3A)
        let minute = try fixedDigits(2)
        try expect(0x3A)
        let second = try fixedDigits(2)
        guard hour < 24, minute < 60, second <= 60 else { throw fail("invalid time", at: start) }
        if peek == 0x2E {
            i += 1
            guard let b = peek, Self.isDigit(b) else { throw fail("invalid time fraction", at: start) }
            while let d = peek, Self.isDigit(d) { i += 1 }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }
}
