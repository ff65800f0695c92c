import KadendeAPI
import KadendeAuth

/// What the HTTP layer asks of the coordinator. Handlers stay thin: decode, call, encode.
public protocol ControlPlane: Sendable {
    func apply(yaml: String) async throws(APIError) -> APIApplyResult
    func groups(cluster: String?) async throws(APIError) -> [APIGroup]
    func group(cluster: String, name: String) async throws(APIError) -> APIGroupDetail
    func deleteGroup(cluster: String, name: String) async throws(APIError) -> APIGroup
    /// A new spec revision with `size.desired` changed (within min and max, and the cluster's quota).
    func scaleGroup(cluster: String, name: String, desired: Int) async throws(APIError) -> APIApplyResult
    /// Terminates one node; the group replaces it if it is still below its size.
    func terminateNode(id: String) async throws(APIError) -> APINode
    func nodes(cluster: String, group: String?) async throws(APIError) -> [APINode]
    func node(id: String) async throws(APIError) -> APINodeDetail
    /// Gauges in the Prometheus text format: nodes by state, the circuit breaker, the budget, holds, agents.
    func metrics() async throws(APIError) -> String
    // Configuration
    func pushConfig(cluster: String, group: String, yaml: String) async throws(APIError) -> APIPushResult
    func configRevisions(cluster: String, group: String) async throws(APIError) -> [APIConfigRevision]
    func configRevision(cluster: String, group: String, revision: Int) async throws(APIError) -> APIConfigRevision
    func configStatus(cluster: String, group: String) async throws(APIError) -> APIConfigStatus
    func rollouts(cluster: String, group: String) async throws(APIError) -> [APIRollout]
    /// `allAtOnce` and `bake` override the policy of the group's last push, which a rollback follows otherwise.
    func rollback(cluster: String, group: String, to revision: Int, allAtOnce: Bool, bake: Double?) async throws(APIError) -> APIRollout
    /// `pause`, `resume` or `abort` the group's active rollout.
    func controlRollout(cluster: String, group: String, action: String) async throws(APIError) -> APIRollout
    func setLabels(nodeID: String, change: APILabelChange) async throws(APIError) -> APINode
    // Clusters (tenants): created and deleted by admins; provider credentials (sealed at rest, never shown), the
    // node quota and members.
    func cluster(name: String) async throws(APIError) -> APICluster
    /// The clusters the caller may read.
    func clusters() async throws(APIError) -> [APICluster]
    func createCluster(name: String) async throws(APIError) -> APICluster
    /// Refused (409) while the cluster has groups or live nodes.
    func deleteCluster(name: String) async throws(APIError) -> APICluster
    func setCredentials(cluster: String, provider: String, values: [String: String]) async throws(APIError) -> APICredentialSummary
    func deleteCredentials(cluster: String, provider: String) async throws(APIError) -> APICluster
    func setQuota(cluster: String, nodes: Int?) async throws(APIError) -> APICluster

    // Users and authentication
    /// The principal a bearer token stands for; 401 when it is unknown, expired or revoked.
    func authenticate(token: String) async throws(APIError) -> Principal
    func login(_ login: APILogin) async throws(APIError) -> APITokenGrant
    func whoami() async throws(APIError) -> APIUser
    func users() async throws(APIError) -> [APIUser]
    func createUser(_ user: APIUserCreate) async throws(APIError) -> APIUser
    func setRole(user: String, cluster: String, role: String?) async throws(APIError) -> APIUser
    /// Sets a password: one's own with the current one, anyone's as an admin. Ends the user's sessions.
    func setPassword(user: String, change: APIPasswordChange) async throws(APIError) -> APIUser
    /// Disables or enables a user (admins); the last enabled admin stays.
    func updateUser(name: String, update: APIUserUpdate) async throws(APIError) -> APIUser
    /// Deletes a user with their roles and tokens (admins); the last enabled admin stays.
    func deleteUser(name: String) async throws(APIError) -> APIUser
    func createToken(_ request: APITokenRequest) async throws(APIError) -> APITokenGrant
    /// The caller's tokens; with `all`, everyone's (admins).
    func tokens(all: Bool) async throws(APIError) -> [APITokenGrant]
    func revokeToken(id: String) async throws(APIError) -> APITokenGrant
    func audit(after: Int64, limit: Int) async throws(APIError) -> [APIAuditEntry]

    /// Events after `after` (the most recent 1 000 at most), then each new one as it commits, of the clusters the
    /// caller may read. Authorised now: the stream outlives the request's handler.
    func eventStream(cluster: String?, group: String?, after: Int64) async throws(APIError) -> AsyncStream<APIEvent>

    /// Events after `after`; when there are none yet, waits up to `waitSeconds` for one (long poll).
    func events(cluster: String?, group: String?, after: Int64, limit: Int, waitSeconds: Double) async throws(APIError) -> [APIEvent]
}

/// An error with its HTTP status, mapped at the edge.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var body: APIErrorBody

    public init(status: Int, code: String, message: String, path: String? = nil, line: Int? = nil) {
        self.status = status
        self.body = APIErrorBody(code: code, message: message, path: path, line: line)
    }

    public var description: String { "\(status) \(body)" }

    public static func notFound(_ message: String) -> APIError { APIError(status: 404, code: "not_found", message: message) }
    public static func badRequest(_ code: String, _ message: String) -> APIError { APIError(status: 400, code: code, message: message) }
    public static func internalError(_ message: String) -> APIError { APIError(status: 500, code: "internal", message: message) }
}
