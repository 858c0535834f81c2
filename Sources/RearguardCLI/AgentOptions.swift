import ArgumentParser
import FoundationEssentials
import Glibc
import RearguardAPI
import RearguardCore

/// The options of every command that asks the running agent: where its socket is, and JSON output.
struct AgentOptions: ParsableArguments {
    @Option(help: "The agent's socket (default: [api] socket from the config, /run/rearguard/rearguard.sock).")
    var socket: String?

    @Flag(help: "Print the API's JSON document instead of text.")
    var json = false

    /// The socket to use: `--socket`, else the config's `[api] socket`, else the built-in default.
    var socketPath: String {
        if let socket { return socket }
        // A config the agent could not start with should not stop an admin from asking: fall back to the default.
        return (try? ConfigLoader.load().api.socket) ?? Settings().api.socket
    }

    /// A client for the agent, with room for the slowest request (`recheck` waits for the whole round).
    func client(timeout: Duration = .seconds(30)) -> AgentClient {
        AgentClient(socketPath: socketPath, timeout: timeout)
    }

    /// Runs one request; maps what can go wrong to STYLE U3's exit codes with a line on stderr.
    func ask<T: Sendable>(_ request: (AgentClient) async throws -> T, timeout: Duration = .seconds(30)) async throws -> T {
        let client = client(timeout: timeout)
        do {
            return try await request(client)
        } catch let error as APIError {
            Output.diagnostic(error.message)
            switch error.code {
            case .unreachable where error.errno == EACCES:
                Output.diagnostic("hint: run as root, or as a member of the group set in [api] group")
            case .unreachable:
                Output.diagnostic("hint: is the agent running? systemctl start rearguard (or pass --socket PATH)")
            default:
                break
            }
            throw ExitCode(AgentExit.unreachable)
        } catch let error as AgentRequestError {
            Output.diagnostic("\(error.message) (\(error.code.rawValue))")
            throw ExitCode.failure
        }
    }

    /// Prints a document with the house JSON conventions.
    func printJSON<T: Encodable>(_ document: T) throws {
        print(try RearguardJSON.string(document))
    }
}

/// The exit codes of the commands that ask the agent (STYLE U3).
enum AgentExit {
    /// The node is good, or the request was done.
    static let ok: Int32 = 0
    /// Failing, rolling back, rolled back or quarantined; or the agent refused the request.
    static let unhealthy: Int32 = 1
    /// Not decided yet: first boot or probation.
    static let undecided: Int32 = 3
    /// The agent could not be reached (EX_UNAVAILABLE).
    static let unreachable: Int32 = 69

    /// The exit code for an assessment state.
    static func code(for state: Assessment.State) -> Int32 {
        switch state {
        case .good: ok
        case .firstBoot, .probation: undecided
        case .failing, .rollingBack, .rolledBack, .quarantine: unhealthy
        }
    }
}
