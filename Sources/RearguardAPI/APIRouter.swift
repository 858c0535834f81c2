import FoundationEssentials
import NIOCore
import NIOHTTP1
import Prometheus
import RearguardCore

/// Maps a request to the agent and its answer to a document (STYLE L4: a thin handler; the agent does the work).
enum APIRouter {
    /// The API's operations.
    enum Route: Sendable, Equatable, CaseIterable {
        case status, checks, history, deployments, explain, metrics, runChecks, hold, release, mode

        var method: HTTPMethod {
            switch self {
            case .status, .checks, .history, .deployments, .explain, .metrics: .GET
            case .runChecks, .hold, .release, .mode: .POST
            }
        }

        /// Only root may change the agent's state.
        var isMutation: Bool { method == .POST }

        var path: String {
            switch self {
            case .status: APIRoute.status
            case .checks: APIRoute.checks
            case .history: APIRoute.history
            case .deployments: APIRoute.deployments
            case .explain: APIRoute.explain
            case .metrics: APIRoute.metrics
            case .runChecks: APIRoute.runChecks
            case .hold: APIRoute.hold
            case .release: APIRoute.release
            case .mode: APIRoute.mode
            }
        }
    }

    /// The route of a request: unknown paths are `404 not_found`; a known path with another method is
    /// `405 bad_request` with an `allow` header (the code says the request is wrong, the status says how).
    static func route(method: HTTPMethod, uri: String) -> Result<Route, RouteRefusal> {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard let route = Route.allCases.first(where: { $0.path == path }) else {
            return .failure(RouteRefusal(response: .error(.notFound, "no such endpoint: \(path.prefix(200))")))
        }
        guard method == route.method else {
            var response = APIResponse.error(
                .badRequest, "\(route.path) takes \(route.method), not \(String(describing: method).prefix(40))",
                status: .methodNotAllowed)
            response.extraHeaders = [("allow", "\(route.method)")]
            return .failure(RouteRefusal(response: response))
        }
        return .success(route)
    }

    /// Asks the agent and encodes its answer.
    static func answer(
        _ route: Route, body: ByteBuffer, endpoint: any AgentEndpoint, metrics: PrometheusCollectorRegistry?,
        statusCache: EncodedCache<StatusDocument>
    ) async -> APIResponse {
        switch route {
        case .status: return .document(await endpoint.status(), cache: statusCache)
        case .checks: return .document(await endpoint.checks())
        case .history: return .document(await endpoint.history())
        case .explain: return .document(await endpoint.explain())
        case .metrics:
            let status = await endpoint.status()
            return APIResponse(status: .ok, contentType: APIResponse.metricsType, body: MetricsRenderer.render(status, shared: metrics))
        case .deployments:
            do { return .document(try await endpoint.deployments()) } catch { return .error(error) }
        case .runChecks, .hold, .release:
            guard body.readableBytes == 0 else { return .error(.badRequest, "\(route.path) takes an empty body") }
            do {
                switch route {
                case .runChecks: return .document(try await endpoint.runChecks())
                case .hold: return .document(try await endpoint.hold())
                default: return .document(try await endpoint.release())
                }
            } catch {
                return .error(error)
            }
        case .mode:
            let request: ModeRequest
            do {
                request = try RearguardJSON.decoder().decode(ModeRequest.self, from: Data(body.readableBytesView))
            } catch {
                return .error(.badRequest, #"the body must be {"mode": "enforce"} or {"mode": "observe"}"#)
            }
            guard let mode = AssessmentMode(rawValue: request.mode) else {
                return .error(.badRequest, "mode must be enforce or observe, not \(request.mode.prefix(40))")
            }
            do { return .document(try await endpoint.setMode(mode)) } catch { return .error(error) }
        }
    }
}

/// A request refused before it reaches the agent.
struct RouteRefusal: Error, Sendable {
    var response: APIResponse
}
