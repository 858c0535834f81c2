import Foundation

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

    /// Runs `arguments[0]` (looked up in PATH when not a path) and waits; stdout and stderr are captured.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting so a chatty child never blocks on a full pipe.
        let errData = ReadAll(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessOutput(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.wait(), as: UTF8.self))
    }

    /// Runs a program and throws when it exits non-zero, with its stderr in the error.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let output = try run(arguments, environment: environment)
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
    public static func require(_ program: String, package: String) throws {
        guard try run(["sh", "-c", "command -v \(program)"]).status == 0 else {
            throw ShellError(message: "\(program) is missing: apt-get install \(package) (scripts/deps installs it)")
        }
    }
}

/// A failure of a test helper, with what went wrong.
public struct ShellError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Drains a pipe on a background thread.
private final class ReadAll: @unchecked Sendable {
    // SAFETY: `data` is written once by the reader thread before `done` is signalled and read only after `wait()`.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    func wait() -> Data {
        done.wait()
        return data
    }
}
