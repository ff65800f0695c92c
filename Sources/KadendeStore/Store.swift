import KadendeModel
import KadendeWire
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
    /// Adds an enrolment token for a node whose create is tried again (the raw token of an intent is lost if the
    /// coordinator dies before `create`). Earlier unused tokens stay valid: a machine a lost or timed-out create
    /// did make carries one of them. Redeeming any token voids the node's others.
    func addToken(nodeID: String, tokenHash: String, tokenExpiry: Date) async throws
    @discardableResult
    func transition(nodeID: String, to state: NodeState, reason: String, at: Date) async throws -> NodeRecord
    func setInstance(nodeID: String, instanceID: String, address: String?, at: Date) async throws
    func recordHeartbeats(_ beats: [String: Date]) async throws
    func node(id: String) async throws -> NodeRecord?
    func nodes(cluster: String, group: String?) async throws -> [NodeRecord]
    func allLiveNodes() async throws -> [NodeRecord]

    func setLabels(nodeID: String, labels: [String: String], at: Date) async throws -> NodeRecord

    // Configuration
    /// Stores `push.content` as the group's next revision and starts its rollout, in one transaction; refused
    /// while another rollout of the group is active.
    func pushConfig(_ push: ConfigPush, cluster: String, group: String, at: Date) async throws -> (ConfigRevisionRecord, RolloutRecord)
    /// Starts a rollout of an existing revision (`config rollback --to N`).
    func startRollout(cluster: String, group: String, revision: Int, kind: RolloutRecord.Kind, target: ConfigTarget,
                      policy: RolloutPolicy, reason: String, at: Date) async throws -> RolloutRecord
    func configRevision(cluster: String, group: String, revision: Int) async throws -> ConfigRevisionRecord?
    func configRevisions(cluster: String, group: String) async throws -> [ConfigRevisionRecord]
    func rollouts(cluster: String, group: String, limit: Int) async throws -> [RolloutRecord]
    func activeRollouts() async throws -> [RolloutRecord]
    func updateRollout(id: Int64, state: RolloutState, reason: String, at: Date, events: [NodeEvent]) async throws
    func setGroupConfigRevision(cluster: String, group: String, revision: Int) async throws
    func nodeConfigs(cluster: String, group: String) async throws -> [String: NodeConfigRecord]
    func nodeConfig(nodeID: String) async throws -> NodeConfigRecord?
    /// What the coordinator wants on these nodes from now on. Each call takes the next position in the store's
    /// order of desired revisions, which every replica follows (`desiredSince`).
    func setDesired(nodeIDs: [String], revision: Int, rollout: Int64?, at: Date) async throws
    /// Desired revisions set after `position`, oldest first, at most `limit`: each replica sends them to the agents
    /// connected to it, whichever replica decided them. `desiredSince(nil)` gives only the latest position.
    func desiredSince(_ position: Int64?, limit: Int) async throws -> DesiredChanges
    /// Acks as they arrive, many per transaction.
    func recordReports(_ reports: [String: (ack: Ack, at: Date)], events: [NodeEvent]) async throws

    // Events
    func appendEvent(_ event: NodeEvent) async throws
    /// Deletes events, audit entries and spent tokens beyond `policy` (by age and count).
    func prune(_ policy: RetentionPolicy, now: Date) async throws -> PruneResult

    // Clusters are tenants: created by an admin, deleted once empty. Groups, roles, credentials and quotas name
    // an existing cluster (`notFound` otherwise).
    func createCluster(name: String, at: Date) async throws -> ClusterRecord
    func cluster(name: String) async throws -> ClusterRecord?
    func clusters() async throws -> [ClusterRecord]
    func deleteCluster(name: String, at: Date) async throws
    // Sealed provider credentials (the store never sees a value) and the node quota.
    func setSecret(cluster: String, name: String, sealed: [UInt8], summary: String, at: Date) async throws
    func sealedSecret(cluster: String, name: String) async throws -> [UInt8]?
    func secrets(cluster: String) async throws -> [SecretSummary]
    func deleteSecret(cluster: String, name: String, at: Date) async throws
    func setNodeQuota(cluster: String, quota: Int?, at: Date) async throws
    func nodeQuota(cluster: String) async throws -> Int?
    /// Nodes of the cluster that hold or may hold a machine (not terminated, not failed).
    func liveNodeCount(cluster: String) async throws -> Int

    // Users, roles, tokens (hashes only) and the audit log.
    func createUser(name: String, passwordHash: String, admin: Bool, at: Date) async throws -> UserRecord
    func userCount() async throws -> Int
    func userCredentials(name: String) async throws -> (UserRecord, String)?
    func users() async throws -> [UserRecord]
    /// Ends the user's sessions in the same transaction.
    func setPassword(user: String, passwordHash: String) async throws
    /// Disables (ending sessions) or enables a user; refused (`conflict`) when it would leave no enabled admin.
    func setDisabled(user: String, disabled: Bool) async throws -> UserRecord
    /// Deletes a user, their memberships and tokens; refused (`conflict`) when it would leave no enabled admin.
    func deleteUser(_ user: String) async throws -> UserRecord
    func setRole(user: String, cluster: String, role: String?) async throws
    func addAPIToken(hash: String, shortID: String, user: String, name: String, kind: TokenRecord.Kind, expiresAt: Date?, at: Date) async throws -> TokenRecord
    func authenticate(tokenHash: String, now: Date) async throws -> (UserRecord, TokenRecord)?
    func tokens(user: String?) async throws -> [TokenRecord]
    func revokeToken(shortID: String, user: String?, at: Date) async throws -> TokenRecord
    @discardableResult
    func appendAudit(_ entry: AuditEntry) async throws -> AuditEntry
    func audit(after: Int64, limit: Int) async throws -> [AuditEntry]
    func listEvents(cluster: String?, group: String?, after: Int64, limit: Int) async throws -> [NodeEvent]

    // Replicas
    /// Renews `owner`'s group leases, takes expired or unowned ones up to a fair share among the live replicas
    /// (giving back any beyond it), and returns what `owner` holds now. Expiry is by the database's clock.
    func leaseGroups(owner: String, duration: Double) async throws -> [GroupLease]
    /// Gives every lease of `owner` up at once (a graceful shutdown), so others take over without waiting.
    func releaseLeases(owner: String) async throws

    // Enrolment and certificates
    /// Checks a token without using it up: returns the node it is bound to.
    func checkToken(hash: String, now: Date) async throws -> String
    /// Uses up a token and records the issued certificate, in one transaction; the node moves to `enrolling`. The
    /// digest of the certificate's key is kept with the token, so that an enrolment tried again with the same key
    /// can be answered again (`reissueEnrolment`).
    func redeemToken(hash: String, certificate: CertificateRecord, keyDigest: String?, at: Date) async throws
    /// Records another certificate for a spent token when `EnrolmentRules.retry` allows it: the same key as the
    /// first enrolment, within `grace` of it, the node not yet past enrolling (its first answer was lost on the
    /// way). `tokenUsed` otherwise.
    func reissueEnrolment(tokenHash: String, keyDigest: String, certificate: CertificateRecord, grace: Double, at: Date) async throws
    func recordCertificate(_ certificate: CertificateRecord) async throws
    /// Records a renewed certificate and revokes `serial`, the one it replaces, in one transaction, if
    /// `CertificateRules.renewal` allows it (`revoked`, `nodeFinished` or `notFound` otherwise).
    func renewCertificate(replacing serial: String, with certificate: CertificateRecord, at: Date) async throws
    func certificate(serial: String) async throws -> CertificateRecord?
}

extension Store {
    /// A redemption whose key nobody will present again (tests, tools).
    public func redeemToken(hash: String, certificate: CertificateRecord, at: Date) async throws {
        try await redeemToken(hash: hash, certificate: certificate, keyDigest: nil, at: at)
    }
}
