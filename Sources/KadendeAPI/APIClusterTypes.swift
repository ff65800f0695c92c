import struct Foundation.Date

/// A cluster (a tenant): its members, its node quota and how much of it is used, its groups, and which provider
/// credentials it has (never their values).
public struct APICluster: Codable, Sendable, Hashable {
    public var name: String
    public var createdAt: Date
    /// Nil: no quota.
    public var nodeQuota: Int?
    /// Nodes that hold or may hold a machine (not terminated, not failed).
    public var liveNodes: Int
    /// Groups in the cluster, deleted ones that still wind down included.
    public var groups: Int
    /// Viewers and operators; admins may do everything everywhere and are not listed.
    public var members: [APIMember]
    public var credentials: [APICredentialSummary]

    public init(name: String, createdAt: Date, nodeQuota: Int?, liveNodes: Int, groups: Int, members: [APIMember],
                credentials: [APICredentialSummary]) {
        self.name = name
        self.createdAt = createdAt
        self.nodeQuota = nodeQuota
        self.liveNodes = liveNodes
        self.groups = groups
        self.members = members
        self.credentials = credentials
    }
}

public struct APIMember: Codable, Sendable, Hashable {
    public var user: String
    /// `viewer` or `operator`.
    public var role: String
    public init(user: String, role: String) {
        self.user = user
        self.role = role
    }
}

/// `POST /v1/clusters` (admins).
public struct APIClusterCreate: Codable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct APICredentialSummary: Codable, Sendable, Hashable {
    public var provider: String
    /// What tells them apart without revealing them, e.g. `access key AKIA…WXYZ`.
    public var summary: String
    public var updatedAt: Date

    public init(provider: String, summary: String, updatedAt: Date) {
        self.provider = provider
        self.summary = summary
        self.updatedAt = updatedAt
    }
}

/// `PUT /v1/clusters/{cluster}/credentials/{provider}`. For ec2: accessKeyID, secretAccessKey, sessionToken.
public struct APICredentials: Codable, Sendable {
    public var values: [String: String]
    public init(values: [String: String]) { self.values = values }
}

/// `PUT /v1/clusters/{cluster}/quota`; `nodes` null removes the quota.
public struct APIQuota: Codable, Sendable {
    public var nodes: Int?
    public init(nodes: Int?) { self.nodes = nodes }
}

/// `POST /v1/groups/{name}/scale`.
public struct APIScale: Codable, Sendable {
    public var desired: Int
    public init(desired: Int) { self.desired = desired }
}
