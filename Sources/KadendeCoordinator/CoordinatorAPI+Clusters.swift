import KadendeAPI
import KadendeAuth
import KadendeHTTP
import KadendeModel
import KadendeStore

extension CoordinatorAPI {
    func cluster(name: String) async throws(APIError) -> APICluster {
        try Self.checkName(name)
        try await require(.read, in: name)
        guard let record = try await call({ try await store.cluster(name: name) }) else { throw Self.noSuchCluster(name) }
        return try await apiCluster(record)
    }

    /// The clusters the caller may read.
    func clusters() async throws(APIError) -> [APICluster] {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        var out: [APICluster] = []
        for record in try await call({ try await store.clusters() }) where principal.may(.read, in: record.name) {
            out.append(try await apiCluster(record))
        }
        return out
    }

    func createCluster(name: String) async throws(APIError) -> APICluster {
        try Self.checkName(name)
        let admin = try await requireAdmin("create clusters")
        let created = try await call { try await store.createCluster(name: name, at: coordinator.configuration.now()) }
        await record(admin.user, "cluster.create", cluster: name, target: name)
        return try await apiCluster(created)
    }

    /// Deletes an empty cluster (no groups, no live nodes) with its memberships and credentials.
    func deleteCluster(name: String) async throws(APIError) -> APICluster {
        try Self.checkName(name)
        let admin = try await requireAdmin("delete clusters")
        guard name != "default" else {
            throw APIError(status: 409, code: "conflict", message: "the default cluster stays: groups without a cluster land in it")
        }
        guard let existing = try await call({ try await store.cluster(name: name) }) else { throw Self.noSuchCluster(name) }
        let before = try await apiCluster(existing)
        try await call { try await store.deleteCluster(name: name, at: coordinator.configuration.now()) }
        await record(admin.user, "cluster.delete", cluster: name, target: name)
        return before
    }

    private func apiCluster(_ record: ClusterRecord) async throws(APIError) -> APICluster {
        let live = try await call { try await store.liveNodeCount(cluster: record.name) }
        let secrets = try await call { try await store.secrets(cluster: record.name) }
        let groups = try await call { try await store.groups(cluster: record.name) }
        return APICluster(
            name: record.name, createdAt: record.createdAt, nodeQuota: record.nodeQuota, liveNodes: live, groups: groups.count,
            members: record.members.sorted { $0.key < $1.key }.map { APIMember(user: $0.key, role: $0.value) },
            credentials: secrets.map {
                APICredentialSummary(provider: String($0.name.dropFirst("provider/".count)), summary: $0.summary, updatedAt: $0.updatedAt)
            })
    }

    static func noSuchCluster(_ name: String) -> APIError {
        APIError.notFound("cluster \(name) does not exist: an admin creates it with `kadende cluster create \(name)`")
    }

    func setCredentials(cluster: String, provider: String, values: [String: String]) async throws(APIError) -> APICredentialSummary {
        try Self.checkName(cluster)
        try await require(.manageCluster, in: cluster, target: "credentials \(provider)")
        do {
            _ = try coordinator.providers.provider(named: provider)
        } catch {
            throw APIError.badRequest("unknown_provider", error.message)
        }
        let now = coordinator.configuration.now()
        do {
            let summary = try await coordinator.credentials.set(cluster: cluster, provider: provider, values: values, at: now)
            await record(actor, "credentials.set", cluster: cluster, target: "\(provider): \(summary)")
            return APICredentialSummary(provider: provider, summary: summary, updatedAt: now)
        } catch let refusal as ClusterCredentials.Refusal {
            throw APIError.badRequest("invalid_credentials", refusal.description)
        } catch {
            // Never the values: the error of sealing or storing only.
            coordinator.configuration.logger.error("storing credentials failed", metadata: ["cluster": "\(cluster)", "provider": "\(provider)"])
            throw APIError.internalError("the credentials could not be stored")
        }
    }

    func deleteCredentials(cluster: String, provider: String) async throws(APIError) -> APICluster {
        try Self.checkName(cluster)
        try await require(.manageCluster, in: cluster, target: "credentials \(provider)")
        try await call { try await store.deleteSecret(cluster: cluster, name: ClusterCredentials.secretName(provider), at: coordinator.configuration.now()) }
        await record(actor, "credentials.delete", cluster: cluster, target: provider)
        return try await self.cluster(name: cluster)
    }

    func setQuota(cluster: String, nodes: Int?) async throws(APIError) -> APICluster {
        try Self.checkName(cluster)
        try await require(.manageCluster, in: cluster, target: "quota")
        if let nodes, !(0...1_000_000).contains(nodes) {
            throw APIError.badRequest("bad_value", "nodes must be between 0 and 1000000, or null for no quota")
        }
        try await call { try await store.setNodeQuota(cluster: cluster, quota: nodes, at: coordinator.configuration.now()) }
        await record(actor, "cluster.quota", cluster: cluster, target: nodes.map(String.init) ?? "none")
        coordinator.reconciler.wake()
        return try await self.cluster(name: cluster)
    }

    /// Refuses a spec whose cluster would want more nodes than its quota, counting the other groups' desired sizes.
    func checkQuota(_ spec: GroupSpec) async throws(APIError) {
        guard let quota = try await call({ try await store.nodeQuota(cluster: spec.cluster) }) else { return }
        let others = try await call { try await store.groups(cluster: spec.cluster) }
            .filter { $0.name != spec.name && !$0.deleted }.map(\.spec.size.desired).reduce(0, +)
        guard others + spec.size.desired <= quota else {
            throw APIError(status: 400, code: "quota_exceeded",
                           message: "cluster \(spec.cluster) allows \(quota) nodes; its other groups want \(others), so \(spec.name) may want at most \(max(quota - others, 0)), not \(spec.size.desired)",
                           path: "size.desired")
        }
    }

    static func checkName(_ cluster: String) throws(APIError) {
        guard ResourceName.isValid(cluster) else {
            throw APIError.badRequest("bad_value", "cluster \"\(cluster.prefix(64))\" must be 1-63 lowercase letters, digits or '-'")
        }
    }
}
