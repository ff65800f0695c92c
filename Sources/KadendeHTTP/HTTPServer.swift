import Hummingbird
import HummingbirdTLS
import NIOSSL
import KadendeAPI
import Logging
import NIOCore
import struct Foundation.Data
import class Foundation.JSONEncoder
import class Foundation.JSONDecoder

/// The coordinator's REST API `/v1`. Every request but liveness and login carries a bearer token; each handler
/// checks the action against the cluster it touches. Bound to 127.0.0.1 unless told otherwise.
public enum HTTPServer {
    /// Largest request body accepted (a group spec).
    public static let maxBodySize = 1 << 20

    /// With `tls`, HTTPS only. `hostNames` are the names the API answers to besides its listen address (and, on
    /// loopback, the loopback names).
    public static func makeApplication(
        controlPlane: any ControlPlane, host: String, port: Int, tls: TLSConfiguration? = nil, hostNames: [String] = [],
        limits: ListenerLimits = ListenerLimits(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) throws -> some ApplicationProtocol {
        let router = Router(context: KadendeRequestContext.self)
        router.middlewares.add(ErrorMiddleware())
        router.middlewares.add(HostCheckMiddleware(
            allowed: HostCheckMiddleware<KadendeRequestContext>.defaultNames(listenHost: host).union(hostNames.map { $0.lowercased() })))
        router.middlewares.add(AuthMiddleware(controlPlane: controlPlane))
        addRoutes(to: router, controlPlane: controlPlane, limits: limits)
        Dashboard.addRoutes(to: router)
        return Application(
            router: router,
            server: try limits.server(tls: tls),
            configuration: limits.configuration(host: host, port: port),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    static func addRoutes(to router: Router<KadendeRequestContext>, controlPlane: any ControlPlane, limits: ListenerLimits = ListenerLimits()) {
        router.post("/v1/login") { request, context in
            // JSON only: a page on another site can make a browser post text/plain or a form here without asking
            // first (a "simple" request) and lock 127.0.0.1 out with failed logins; JSON needs a preflight it fails.
            guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
                throw APIError(status: 415, code: "unsupported_media_type", message: "a login is a JSON body (Content-Type: application/json)")
            }
            let login = try await Self.decode(APILogin.self, request, limits)
            return try await Peer.$address.withValue(context.peer) { try Self.json(await controlPlane.login(login), status: .created) }
        }
        router.get("/v1/whoami") { _, _ in try Self.json(await controlPlane.whoami()) }
        router.get("/v1/users") { _, _ in try Self.json(await controlPlane.users()) }
        router.post("/v1/users") { request, _ in
            try Self.json(await controlPlane.createUser(try await Self.decode(APIUserCreate.self, request, limits)), status: .created)
        }
        router.put("/v1/users/:name/roles/:cluster") { request, context in
            let role = try await Self.decode(APIRole.self, request, limits)
            return try Self.json(await controlPlane.setRole(user: try context.parameters.require("name"),
                                                           cluster: try context.parameters.require("cluster"), role: role.role))
        }
        router.put("/v1/users/:name/password") { request, context in
            let change = try await Self.decode(APIPasswordChange.self, request, limits)
            return try Self.json(await controlPlane.setPassword(user: try context.parameters.require("name"), change: change))
        }
        router.patch("/v1/users/:name") { request, context in
            let update = try await Self.decode(APIUserUpdate.self, request, limits)
            return try Self.json(await controlPlane.updateUser(name: try context.parameters.require("name"), update: update))
        }
        router.delete("/v1/users/:name") { _, context in
            try Self.json(await controlPlane.deleteUser(name: try context.parameters.require("name")))
        }
        router.post("/v1/tokens") { request, _ in
            try Self.json(await controlPlane.createToken(try await Self.decode(APITokenRequest.self, request, limits)), status: .created)
        }
        router.get("/v1/tokens") { request, _ in
            try Self.json(await controlPlane.tokens(all: request.uri.queryParameters.get("all") == "true"))
        }
        router.delete("/v1/tokens/:id") { _, context in
            try Self.json(await controlPlane.revokeToken(id: try context.parameters.require("id")))
        }
        router.get("/v1/audit") { request, _ in
            let q = request.uri.queryParameters
            let after = try Self.number(q.get("after"), name: "after", default: 0, range: 0...Int64.max)
            let limit = try Self.number(q.get("limit"), name: "limit", default: 500, range: 1...5000)
            return try Self.json(await controlPlane.audit(after: after, limit: Int(limit)))
        }

        router.get("/v1/health") { _, _ in try Self.json(["status": "ok"]) }
        router.get("/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/metrics") { _, _ in
            let text = try await controlPlane.metrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }

        router.post("/v1/groups") { request, _ in
            let body = try await request.collectBody(upTo: maxBodySize, within: limits.bodyTimeout)
            let yaml = String(buffer: body)
            return try Self.json(await controlPlane.apply(yaml: yaml))
        }
        router.get("/v1/clusters") { _, _ in try Self.json(await controlPlane.clusters()) }
        router.post("/v1/clusters") { request, _ in
            try Self.json(await controlPlane.createCluster(name: try await Self.decode(APIClusterCreate.self, request, limits).name), status: .created)
        }
        router.delete("/v1/clusters/:cluster") { _, context in
            try Self.json(await controlPlane.deleteCluster(name: try context.parameters.require("cluster")))
        }
        router.get("/v1/clusters/:cluster") { _, context in
            try Self.json(await controlPlane.cluster(name: try context.parameters.require("cluster")))
        }
        router.put("/v1/clusters/:cluster/credentials/:provider") { request, context in
            let body = try await Self.decode(APICredentials.self, request, limits)
            return try Self.json(await controlPlane.setCredentials(cluster: try context.parameters.require("cluster"),
                                                                   provider: try context.parameters.require("provider"), values: body.values))
        }
        router.delete("/v1/clusters/:cluster/credentials/:provider") { _, context in
            try Self.json(await controlPlane.deleteCredentials(cluster: try context.parameters.require("cluster"),
                                                               provider: try context.parameters.require("provider")))
        }
        router.put("/v1/clusters/:cluster/quota") { request, context in
            let body = try await Self.decode(APIQuota.self, request, limits)
            return try Self.json(await controlPlane.setQuota(cluster: try context.parameters.require("cluster"), nodes: body.nodes))
        }
        router.get("/v1/groups") { request, _ in
            try Self.json(await controlPlane.groups(cluster: request.uri.queryParameters.get("cluster")))
        }
        router.get("/v1/groups/:name") { request, context in
            let name = try context.parameters.require("name")
            return try Self.json(await controlPlane.group(cluster: Self.cluster(request), name: name))
        }
        router.delete("/v1/groups/:name") { request, context in
            let name = try context.parameters.require("name")
            return try Self.json(await controlPlane.deleteGroup(cluster: Self.cluster(request), name: name))
        }
        router.post("/v1/groups/:name/scale") { request, context in
            let body = try await Self.decode(APIScale.self, request, limits)
            return try Self.json(await controlPlane.scaleGroup(cluster: Self.cluster(request), name: try context.parameters.require("name"), desired: body.desired))
        }
        router.delete("/v1/nodes/{id}") { _, context in
            try Self.json(await controlPlane.terminateNode(id: context.parameters.get("id") ?? ""))
        }
        router.post("/v1/groups/:name/config") { request, context in
            let body = try await request.collectBody(upTo: maxBodySize, within: limits.bodyTimeout)
            let name = try context.parameters.require("name")
            return try Self.json(await controlPlane.pushConfig(cluster: Self.cluster(request), group: name, yaml: String(buffer: body)),
                                 status: .created)
        }
        router.get("/v1/groups/:name/config/revisions") { request, context in
            try Self.json(await controlPlane.configRevisions(cluster: Self.cluster(request), group: context.parameters.require("name")))
        }
        router.get("/v1/groups/:name/config/revisions/:revision") { request, context in
            let revision = try Self.number(context.parameters.get("revision"), name: "revision", default: 0, range: 1...Int64(Int32.max))
            return try Self.json(await controlPlane.configRevision(cluster: Self.cluster(request), group: context.parameters.require("name"),
                                                                   revision: Int(revision)))
        }
        router.get("/v1/groups/:name/config/status") { request, context in
            try Self.json(await controlPlane.configStatus(cluster: Self.cluster(request), group: context.parameters.require("name")))
        }
        router.get("/v1/groups/:name/config/rollouts") { request, context in
            try Self.json(await controlPlane.rollouts(cluster: Self.cluster(request), group: context.parameters.require("name")))
        }
        router.post("/v1/groups/:name/config/rollback") { request, context in
            guard request.uri.queryParameters.get("to") != nil else { throw APIError.badRequest("bad_parameter", "to=REVISION is required") }
            let q = request.uri.queryParameters
            let to = try Self.number(q.get("to"), name: "to", default: 0, range: 1...Int64(Int32.max))
            let bake = try q.get("bake").map { _ in try Self.number(q.get("bake"), name: "bake", default: 0, range: 0...3600) }
            return try Self.json(await controlPlane.rollback(cluster: Self.cluster(request), group: context.parameters.require("name"), to: Int(to),
                                                             allAtOnce: q.get("strategy") == "all-at-once", bake: bake.map(Double.init)),
                                 status: .created)
        }
        router.post("/v1/groups/:name/config/rollout/:action") { request, context in
            try Self.json(await controlPlane.controlRollout(cluster: Self.cluster(request), group: context.parameters.require("name"),
                                                            action: context.parameters.require("action")))
        }
        router.put("/v1/nodes/{id}/labels") { request, context in
            let body = try await request.collectBody(upTo: 64 * 1024, within: limits.bodyTimeout)
            let change: APILabelChange
            do {
                change = try JSONDecoder().decode(APILabelChange.self, from: Data(body.readableBytesView))
            } catch {
                throw APIError.badRequest("bad_body", "expected {\"set\": {key: value}, \"remove\": [key]}")
            }
            return try Self.json(await controlPlane.setLabels(nodeID: context.parameters.get("id") ?? "", change: change))
        }
        router.get("/v1/nodes/{id}") { _, context in
            try Self.json(await controlPlane.node(id: context.parameters.get("id") ?? ""))
        }
        router.get("/v1/nodes") { request, _ in
            try Self.json(await controlPlane.nodes(cluster: Self.cluster(request), group: request.uri.queryParameters.get("group")))
        }
        router.get("/v1/events/stream") { request, _ in
            let q = request.uri.queryParameters
            let after = try Self.number(q.get("after"), name: "after", default: 0, range: 0...Int64.max)
            let events = try await controlPlane.eventStream(cluster: q.get("cluster"), group: q.get("group"), after: after)
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody(asyncSequence: ServerSentEvents.frames(events)))
        }
        router.get("/v1/events") { request, _ in
            let q = request.uri.queryParameters
            let after = try Self.number(q.get("after"), name: "after", default: 0, range: 0...Int64.max)
            let limit = try Self.number(q.get("limit"), name: "limit", default: 500, range: 1...5000)
            let wait = try Self.number(q.get("wait"), name: "wait", default: 0, range: 0...60)
            return try Self.json(await controlPlane.events(
                cluster: q.get("cluster"), group: q.get("group"), after: after, limit: Int(limit), waitSeconds: Double(wait)))
        }
    }

    /// A JSON body, or a 400 that says what is wrong with it.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ limits: ListenerLimits) async throws -> T {
        let body = try await request.collectBody(upTo: 64 * 1024, within: limits.bodyTimeout)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch {
            throw APIError.badRequest("malformed_json", "the body is not the expected JSON: \(error)".prefix(300).description)
        }
    }

    static func cluster(_ request: Request) -> String {
        request.uri.queryParameters.get("cluster") ?? "default"
    }

    static func number(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let n = Int64(text), range.contains(n) else {
            throw APIError.badRequest("bad_parameter", "\(name)=\(text.prefix(30)) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = APIDates.encoding
        return e
    }()
}

/// Maps errors to `{"error": {code, message, path, line}}` with their status; nothing else leaks to clients.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try HTTPServer.json(APIErrorEnvelope(error: error.body), status: .init(code: error.status))
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : (error.status == .contentTooLarge ? "too_large" : "bad_request")
            return try HTTPServer.json(APIErrorEnvelope(error: .init(code: code, message: error.body ?? error.status.reasonPhrase)), status: error.status)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return try HTTPServer.json(APIErrorEnvelope(error: .init(code: "internal", message: "internal error")), status: .internalServerError)
        }
    }
}
