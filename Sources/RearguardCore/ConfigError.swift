/// One thing wrong with the configuration, named by file and key (and line where the parser knows it).
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String { case unreadable, syntax, unknownKey, wrongType, invalidValue, missingKey, duplicateName }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A file or folder could not be read.
        public static let unreadable = Code(.unreadable)
        /// The file is not valid TOML.
        public static let syntax = Code(.syntax)
        /// A key Rearguard does not know.
        public static let unknownKey = Code(.unknownKey)
        /// A value of the wrong TOML type.
        public static let wrongType = Code(.wrongType)
        /// A value of the right type that is out of range or malformed.
        public static let invalidValue = Code(.invalidValue)
        /// A key that must be present is missing.
        public static let missingKey = Code(.missingKey)
        /// Two checks in one file share a name.
        public static let duplicateName = Code(.duplicateName)
        /// The code's stable text, e.g. `unknown-key`.
        public var description: String {
            switch base {
            case .unreadable: "unreadable"
            case .syntax: "syntax"
            case .unknownKey: "unknown-key"
            case .wrongType: "wrong-type"
            case .invalidValue: "invalid-value"
            case .missingKey: "missing-key"
            case .duplicateName: "duplicate-name"
            }
        }
    }

    /// The kind of problem.
    public var code: Code
    /// The file the problem is in.
    public var file: String
    /// The dotted key, e.g. `assessment.soak` or `check[dns-local].timeout`; nil for whole-file problems.
    public var key: String?
    /// The line, when the TOML parser reports one.
    public var line: Int?
    /// Why it is wrong, a short lowercase phrase.
    public var reason: String

    /// Creates an issue.
    public init(code: Code, file: String, key: String?, line: Int? = nil, reason: String) {
        self.code = code
        self.file = file
        self.key = key
        self.line = line
        self.reason = reason
    }

    /// `FILE[:LINE]: KEY: REASON (CODE)`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let key { text += ": \(key)" }
        return text + ": \(reason) (\(code))"
    }
}

/// Why a configuration was rejected: every issue found, so an admin can fix them in one go.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, in file order.
    public var issues: [ConfigIssue]
    /// Creates an error from its issues.
    public init(issues: [ConfigIssue]) { self.issues = issues }
    /// A lowercase summary naming the number of issues.
    public var message: String { "invalid configuration: \(issues.count) issue(s)" }
    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
