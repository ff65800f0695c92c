import KadendeModel
import struct Foundation.Date

/// The single source of truth. SQLite (embedded, one coordinator) implements it now; PostgreSQL (replicas) will
/// implement the same protocol and pass the same contract tests.
public protocol Store: Sendable {
    var events: EventBus { get }

    // Groups
    func applyGroup(_ spec: GroupSpec, at: Date) async throws -> ApplyResult
    func group(cluster: String, name: String) async throws -> GroupRecord?
    /// Groups that are not deleted, or deleted but still have nodes to wind down.
    func groups(cluster: String?) async throws -> [GroupRecord]
    func markGroupDeleted(cluster: String, name: String, at: Date) async throws -> GroupRecord
    /// Removes a deleted group once none of its nodes is left alive.
    func purgeGroup(cluster: String, name: String) async throws

    // Nodes
    /// Records the intent to create a node, with the hash of its enrolment token, before any provider call.
    func recordNodeIntent(_ node: NodeRecord, tokenHash: String, tokenExpiry: Date, at: Date) async throws
    /// Replaces a node's enrolment tokens (the raw token of an intent is lost if the coordinator dies before
    /// `create`; a fresh one is minted then).
    func replaceToken(nodeID: String, tokenHash: String, tokenExpiry: Date) async throws
    @discardableResult
    func transition(nodeID: String, to state: NodeState, reason: String, at: Date) async throws -> NodeRecord
    func setInstance(nodeID: String, instanceID: String, address: String?, at: Date) async throws
    func recordHeartbeats(_ beats: [String: Date]) async throws
    func node(id: String) async throws -> NodeRecord?
    func nodes(cluster: String, group: String?) async throws -> [NodeRecord]
    func allLiveNodes() async throws -> [NodeRecord]

    // Events
    func appendEvent(_ event: NodeEvent) async throws
    func listEvents(cluster: String?, group: String?, after: Int64, limit: Int) async throws -> [NodeEvent]

    // Enrolment and certificates
    /// Checks a token without using it up: returns the node it is bound to.
    func checkToken(hash: String, now: Date) async throws -> String
    /// Uses up a token and records the issued certificate, in one transaction; the node moves to `enrolling`.
    func redeemToken(hash: String, certificate: CertificateRecord, at: Date) async throws
    func recordCertificate(_ certificate: CertificateRecord) async throws
    func certificate(serial: String) async throws -> CertificateRecord?
}
