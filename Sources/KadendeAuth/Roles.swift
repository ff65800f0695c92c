/// What a member may do in a cluster. Admins may do everything everywhere; the others hold a role per cluster.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer
    case `operator`
    case admin

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
    private var rank: Int { switch self { case .viewer: 0; case .operator: 1; case .admin: 2 } }
}

/// Everything the API lets someone do, named once so that every endpoint says which it needs.
public enum Action: String, Sendable, CaseIterable {
    /// Groups, nodes, events, configuration status and history of a cluster.
    case read
    /// Apply, scale or delete a group.
    case apply
    /// Push, roll back, pause, resume or abort configuration.
    case push
    /// Terminate or label a node.
    case terminate
    /// A cluster's provider credentials and quota.
    case manageCluster
    /// Users, memberships and other people's tokens; the audit log.
    case manageUsers

    /// The least role that may do it within a cluster; nil: admins only.
    public var minimumRole: Role? {
        switch self {
        case .read: .viewer
        case .apply, .push, .terminate: .operator
        case .manageCluster, .manageUsers: nil
        }
    }
}

/// Who is asking: a user, their global admin flag and their role in each cluster.
public struct Principal: Sendable, Hashable {
    public var user: String
    public var admin: Bool
    public var roles: [String: Role]
    /// The id of the token the request came with (`DELETE /v1/tokens/current` ends it).
    public var tokenID: String?

    public init(user: String, admin: Bool, roles: [String: Role], tokenID: String? = nil) {
        self.user = user
        self.admin = admin
        self.roles = roles
        self.tokenID = tokenID
    }

    /// Whether `action` on `cluster` is allowed. A member of cluster A holds nothing in cluster B.
    public func may(_ action: Action, in cluster: String) -> Bool {
        if admin { return true }
        guard let needed = action.minimumRole, let held = roles[cluster] else { return false }
        return held >= needed
    }

    /// The clusters whose contents this principal may read (nil: all of them).
    public var readableClusters: Set<String>? { admin ? nil : Set(roles.keys) }
}

extension Principal {
    /// The authenticated principal of the request being handled; set by the API's authentication middleware.
    @TaskLocal public static var current: Principal?
}
