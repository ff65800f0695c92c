import Hummingbird
import KadendeAuth

/// Every request but the public ones carries `Authorization: Bearer kdk_…`; the principal behind it is set as
/// `Principal.current` for the handler, which checks the action against the cluster it touches.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = KadendeRequestContext
    let controlPlane: any ControlPlane

    /// Reachable without a token: liveness, the login that gets one, the API's description (and the dashboard's
    /// static files).
    static let public_: Set<String> = ["/v1/health", "/v1/login", "/v1/openapi.json"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.public_.contains(request.uri.path) || (request.method == .get && Dashboard.isPublic(request.uri.path)) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(status: 401, code: "unauthenticated", message: "this needs a token: kadende login, or Authorization: Bearer kdk_…")
        }
        let principal = try await controlPlane.authenticate(token: String(header.dropFirst("Bearer ".count)))
        return try await Principal.$current.withValue(principal) {
            try await Peer.$address.withValue(context.peer) { try await next(request, context) }
        }
    }
}

/// The client's address for the request being handled (audit log, throttling).
public enum Peer {
    @TaskLocal public static var address: String?
}
