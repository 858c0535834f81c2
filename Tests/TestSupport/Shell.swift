import Foundation
import Posix

/// The result of running a program to completion.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Test helpers that run real programs (ostree, the built `rearguard` binary).
public enum Shell {
    /// The package's root folder, found from this source file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `arguments[0]` (looked up in PATH when not a path) to completion, stdout and stderr captured, on the
    /// Posix spawn layer: the calling task suspends while a thread of its own reads the pipes and reaps the child.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> ProcessOutput {
        // A stopped child is continued: `nsenter` stops itself when the program it runs in a guest is stopped, as the
        // guest's shutdown does to every process, and would then hold up that shutdown for ever (see Spawn.collect).
        let done = try await Spawn.run(arguments, environment: environment ?? [:], resumingStops: true)
        return ProcessOutput(
            status: done.status.code, stdout: String(decoding: done.output, as: UTF8.self),
            stderr: String(decoding: done.errorOutput, as: UTF8.self))
    }

    /// Runs a short cleanup command (`ip netns del`, `chattr -i`) to completion from a `deinit`, which cannot suspend:
    /// it blocks for the milliseconds the command takes, so that the next test never meets what this one left.
    public static func cleanup(_ arguments: [String]) {
        guard let child = try? Spawn.start(arguments, stdout: .null, stderr: .null) else { return }
        _ = Spawn.collect(child, until: .now + .seconds(30), resumingStops: true)
    }

    /// Runs a program and throws when it exits non-zero, with its stderr in the error.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String]? = nil) async throws -> String {
        let output = try await run(arguments, environment: environment)
        guard output.status == 0 else {
            throw ShellError(message: "\(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// The built `rearguard` executable beside the test bundle; fails loudly when it was not built.
    public static func rearguardBinary() throws -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rearguard").path,
            packageRoot.appendingPathComponent(".build/debug/rearguard").path,
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ShellError(message: "the rearguard binary is not built (looked in \(candidates)); run `swift build` before `swift test`")
        }
        return found
    }

    /// Fails with a message naming the Debian package when a program is missing (tests never skip).
    public static func require(_ program: String, package: String) async throws {
        guard try await run(["sh", "-c", "command -v \(program)"]).status == 0 else {
            throw ShellError(message: "\(program) is missing: apt-get install \(package) (scripts/deps installs it)")
        }
    }
}

/// A failure of a test helper, with what went wrong.
public struct ShellError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
