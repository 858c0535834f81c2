/// The one error type of the OSTree module (STYLE E1): a stable code, a lowercase message that names the object.
public struct OSTreeError: Error, Sendable, CustomStringConvertible {
    /// A stable classification of what went wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable {
            case notFound = "not-found"
            case notASysroot = "not-a-sysroot"
            case noDeployments = "no-deployments"
            case unreadable = "unreadable"
            case badBootArgument = "bad-boot-argument"
            case bootedNotFound = "booted-not-found"
            case badStagedState = "bad-staged-state"
            case library = "library"
        }
        let value: Value

        /// A path that must exist does not.
        public static let notFound = Code(value: .notFound)
        /// The path exists but holds no OSTree sysroot.
        public static let notASysroot = Code(value: .notASysroot)
        /// The sysroot lists no deployments.
        public static let noDeployments = Code(value: .noDeployments)
        /// A file could not be read.
        public static let unreadable = Code(value: .unreadable)
        /// The kernel command line's `ostree=` argument is malformed.
        public static let badBootArgument = Code(value: .badBootArgument)
        /// The `ostree=` argument resolves to no deployment of this sysroot.
        public static let bootedNotFound = Code(value: .bootedNotFound)
        /// The host's staged-deployment state cannot be used.
        public static let badStagedState = Code(value: .badStagedState)
        /// libostree or GLib reported an error.
        public static let library = Code(value: .library)

        /// The code's stable name, e.g. `not-a-sysroot`.
        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A lowercase sentence naming the object and what is wrong with it.
    public var message: String
    /// The library error underneath, when there is one.
    public var cause: GLibError?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: GLibError? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message, followed by the cause when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message): \(cause)"
    }
}
