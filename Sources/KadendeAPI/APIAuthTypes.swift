import struct Foundation.Date

public struct APILogin: Codable, Sendable {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}

/// A token and what it is. `token` is present only in the answer that minted it: it is shown once.
public struct APITokenGrant: Codable, Sendable {
    public var token: String?
    public var id: String
    public var user: String
    public var name: String
    public var kind: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(token: String?, id: String, user: String, name: String, kind: String, createdAt: Date, expiresAt: Date?,
                revokedAt: Date?, lastUsedAt: Date?) {
        self.token = token
        self.id = id
        self.user = user
        self.name = name
        self.kind = kind
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}

public struct APITokenRequest: Codable, Sendable {
    public var name: String
    /// Seconds until it expires; nil: 90 days.
    public var expiresIn: Double?
    public init(name: String, expiresIn: Double?) {
        self.name = name
        self.expiresIn = expiresIn
    }
}

public struct APIUser: Codable, Sendable, Hashable {
    public var name: String
    public var admin: Bool
    public var disabled: Bool
    /// Role (viewer, operator) by cluster.
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

public struct APIUserCreate: Codable, Sendable {
    public var name: String
    public var password: String
    public var admin: Bool?
    public init(name: String, password: String, admin: Bool?) {
        self.name = name
        self.password = password
        self.admin = admin
    }
}

public struct APIRole: Codable, Sendable {
    /// viewer, operator, or nil to remove the membership.
    public var role: String?
    public init(role: String?) { self.role = role }
}

public struct APIAuditEntry: Codable, Sendable, Hashable {
    public var seq: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var cluster: String?
    public var target: String?
    public var outcome: String
    public var source: String?
    public init(seq: Int64, at: Date, actor: String, action: String, cluster: String?, target: String?, outcome: String, source: String?) {
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

/// A new password: a user changes their own with `currentPassword`; an admin sets anyone's without it.
public struct APIPasswordChange: Codable, Sendable {
    public var currentPassword: String?
    public var password: String
    public init(currentPassword: String?, password: String) {
        self.currentPassword = currentPassword
        self.password = password
    }
}

/// What an admin changes of a user: disabled users cannot log in and none of their tokens is honoured.
public struct APIUserUpdate: Codable, Sendable {
    public var disabled: Bool
    public init(disabled: Bool) { self.disabled = disabled }
}
