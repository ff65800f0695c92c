import struct Foundation.Date

/// A user as the API shows them: never the password hash.
public struct UserRecord: Sendable, Hashable, Codable {
    public var name: String
    public var admin: Bool
    public var disabled: Bool
    /// Role name (viewer, operator) by cluster.
    public var roles: [String: String]
    public var createdAt: Date

    public init(name: String, admin: Bool, disabled: Bool, roles: [String: String], createdAt: Date) {
        self.name = name
        self.admin = admin
        self.disabled = disabled
        self.roles = roles
        self.createdAt = createdAt
    }
}

/// An API token or a login session, without its secret (only its hash is stored).
public struct TokenRecord: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case api, session }
    public var shortID: String
    public var user: String
    public var name: String
    public var kind: Kind
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(shortID: String, user: String, name: String, kind: Kind, createdAt: Date, expiresAt: Date?, revokedAt: Date? = nil,
                lastUsedAt: Date? = nil) {
        self.shortID = shortID
        self.user = user
        self.name = name
        self.kind = kind
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    public func isValid(at now: Date) -> Bool { revokedAt == nil && (expiresAt.map { $0 > now } ?? true) }
}

/// Who did what, when, from where, and how it ended.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var seq: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var cluster: String?
    public var target: String?
    /// `ok`, or why it was refused or failed.
    public var outcome: String
    /// The client's address, or `cli (local)` for commands run on the coordinator's host.
    public var source: String?

    public init(seq: Int64 = 0, at: Date, actor: String, action: String, cluster: String? = nil, target: String? = nil,
                outcome: String, source: String? = nil) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.cluster = cluster
        self.target = target
        self.outcome = outcome
        self.source = source
    }
}

/// Rules about accounts both stores apply to the rows their transaction read.
public enum UserRules {
    /// Whether `change` may happen to `target`: the coordinator always keeps one enabled admin, or nobody could
    /// administer it again without the data directory.
    public static func keepsAnAdmin(target: UserRecord, enabledAdmins: Int, change: String) throws(StoreError) {
        guard target.admin, !target.disabled, enabledAdmins <= 1 else { return }
        throw StoreError(.conflict, "\(target.name) is the last enabled admin: \(change) would leave nobody to administer this coordinator")
    }
}
