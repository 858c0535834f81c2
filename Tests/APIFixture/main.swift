// Serves the API with the fixture agent on a socket until SIGTERM or SIGINT: manual curl runs against real documents.
//   rearguard-api-fixture SOCKET [GROUP] [STATE] [CHECKS]
import APITestSupport
import Foundation
import Logging
import RearguardAPI
import RearguardCore
import ServiceLifecycle

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: rearguard-api-fixture SOCKET [GROUP|-] [STATE] [CHECKS]\n".utf8))
    exit(64)
}
let group = arguments.count > 2 && arguments[2] != "-" ? arguments[2] : nil
let state = arguments.count > 3 ? Assessment.State(rawValue: arguments[3]) ?? .good : .good
let checks = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
var logger = Logger(label: "rearguard.api-fixture")
logger.logLevel = .warning
let server = APIServer(
    socketPath: arguments[1], group: group, endpoint: FixtureAgent(state: state, checks: checks), logger: logger,
    onReady: { FileHandle.standardOutput.write(Data("ready \(getpid())\n".utf8)) })
let services = ServiceGroup(configuration: .init(
    services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
do {
    try await services.run()
} catch {
    FileHandle.standardError.write(Data("rearguard-api-fixture: \(error)\n".utf8))
    exit(1)
}
