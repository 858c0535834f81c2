/// A failure of the API's transport: the server could not start, or the client could not reach the agent or
/// read its answer (STYLE E1). What the agent itself refuses arrives as `AgentRequestError` instead.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case setup, unreachable, timeout, badResponse = "bad-response"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The socket or its folder could not be prepared (missing group, another agent on the socket, ...).
        public static let setup = Code(.setup)
        /// Nothing answers on the socket (not there, refused, not permitted).
        public static let unreachable = Code(.unreachable)
        /// The agent took longer than the caller's deadline.
        public static let timeout = Code(.timeout)
        /// The agent answered something that is not an API document.
        public static let badResponse = Code(.badResponse)

        /// The code's stable name.
        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A lowercase phrase that names the socket or the object.
    public var message: String
    /// The `errno` behind it, when a system call failed.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    /// The message.
    public var description: String { message }
}
