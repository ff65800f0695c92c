import Crypto
import KadendeBootstrap
import KadendeModel
import KadendePKI
import KadendeProviders
import KadendeReconciler
import KadendeStore
import KadendeSupport
import KadendeWire
import Logging
import struct Foundation.Date

struct ActionContext {
    var group: GroupRecord
    var provider: any Provider
    var nodes: [String: NodeRecord]
    var logger: Logger
}

extension ReconcileLoop {
    /// Carries out one action; returns true when it changed something (so the next pass comes soon).
    func execute(_ action: Action, _ context: ActionContext) async -> Bool {
        do {
            switch action {
            case .hold(let nodeID, let reason):
                // One event per node and rule, not one per pass.
                let rule = reason.components(separatedBy: "; held: ").last ?? reason
                let ruleKey = String(rule.prefix(40))
                let isNew = memory.withLock { m in
                    defer { m.holds[nodeID] = ruleKey }
                    return m.holds[nodeID] != ruleKey
                }
                if isNew {
                    context.logger.warning("conviction held", metadata: ["node.id": "\(nodeID)", "reason": "\(reason)"])
                    try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name,
                                                          nodeID: nodeID, kind: .convictionHeld, reason: reason))
                }
                return false
            case .restartAgent(let nodeID, let reason):
                memory.withLock { $0.agentRestarts[nodeID] = now() }
                guard let instanceID = context.nodes[nodeID]?.instanceID else { return false }
                let restarted: Bool
                do {
                    restarted = try await context.provider.restartAgent(instanceID: instanceID)
                } catch {
                    try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                                          kind: .providerError, reason: "restarting the agent failed: \(error)"))
                    return true
                }
                try await store.appendEvent(NodeEvent(
                    at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID, kind: .agentRestarted,
                    reason: restarted ? "asked provider \(context.provider.name) to restart the agent: \(reason)"
                        : "provider \(context.provider.name) cannot restart agents; the node is replaced if its agent stays silent past the grace"))
                return true
            case .convict(let nodeID, let reason):
                try await store.transition(nodeID: nodeID, to: .unhealthy, reason: "convicted: \(reason); kept until its replacement is healthy (maxSurge)", at: now())
                memory.withLock { $0.holds[nodeID] = nil }
                countConviction(nodeID, context)
            case .create(let count, let reason):
                let allowed = try await quotaRoom(context, wanted: count)
                // Concurrently, but a window at a time: the provider's cap (LimitedProvider) decides how many calls
                // are in flight, and thousands of creates parked behind it would each hold a task for nothing.
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    for started in 0..<allowed {
                        if started >= Self.createWindow { try await tasks.next() }
                        tasks.addTask { try await self.createNode(context, reason: reason) }
                    }
                    try await tasks.waitForAll()
                }
                if allowed == 0 { return false }
            case .provision(let nodeID, let reason):
                let minted = EnrolmentToken.mint()
                try await store.addToken(nodeID: nodeID, tokenHash: minted.hash, tokenExpiry: now().addingTimeInterval(enrolment.tokenLifetime))
                try await provision(nodeID: nodeID, token: minted.token, requested: context.nodes[nodeID]?.state == .requested, context, reason: reason)
            case .adopt(let nodeID, let instanceID):
                try await adopt(nodeID: nodeID, instanceID: instanceID, context)
            case .transition(let nodeID, let state, let reason):
                try await store.transition(nodeID: nodeID, to: state, reason: reason, at: now())
            case .replace(let nodeID, let reason):
                memory.withLock { $0.holds[nodeID] = nil }
                if let node = context.nodes[nodeID], node.state != .unhealthy {
                    try await store.transition(nodeID: nodeID, to: .unhealthy, reason: "convicted: \(reason)", at: now())
                    countConviction(nodeID, context)
                }
                try await terminate(nodeID: nodeID, reason: "replacing: \(reason)", context)
            case .terminate(let nodeID, let reason):
                try await terminate(nodeID: nodeID, reason: reason, context)
            case .fail(let nodeID, let reason):
                try await store.transition(nodeID: nodeID, to: .failed, reason: reason, at: now())
                forget(nodeID)
                if let instanceID = context.nodes[nodeID]?.instanceID {
                    try await destroy(instanceID: instanceID, nodeID: nodeID, reason: reason, context)
                }
            case .destroyOrphan(let instanceID, let reason):
                try await destroy(instanceID: instanceID, nodeID: nil, reason: reason, context)
                try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nil,
                                                      kind: .orphanDestroyed, reason: "instance \(instanceID): \(reason)"))
            case .finishTermination(let nodeID):
                guard let node = context.nodes[nodeID] else { return false }
                guard preTerminateFinished(node, context, reason: node.stateReason) else { return false }
                gateway.disconnect(nodeID: nodeID)
                if let instanceID = node.instanceID {
                    try await destroy(instanceID: instanceID, nodeID: nodeID, reason: "finishing termination", context)
                }
                try await store.transition(nodeID: nodeID, to: .terminated, reason: "instance destroyed", at: now())
                forget(nodeID)
            }
            return true
        } catch {
            context.logger.error("action failed", metadata: ["action": "\(action)", "error": "\(error)"])
            return true
        }
    }

    /// A conviction in the metrics: one replacement, and how long after the node's last good signal it came.
    private func countConviction(_ nodeID: String, _ context: ActionContext) {
        let lastWell = memory.withLock { $0.lastWell[nodeID] }
        metrics.convicted(cluster: context.group.cluster, group: context.group.name,
                          latency: lastWell.map { .milliseconds(Int64(Clamp.milliseconds(now().timeIntervalSince($0)))) })
    }

    /// How many of `wanted` creates the cluster's node quota leaves room for; says so once when it holds some back.
    private func quotaRoom(_ context: ActionContext, wanted: Int) async throws -> Int {
        let cluster = context.group.cluster
        guard let quota = try await store.nodeQuota(cluster: cluster) else { return wanted }
        let live = try await store.liveNodeCount(cluster: cluster)
        let room = min(max(quota - live, 0), wanted)
        let key = "quota/\(cluster)/\(context.group.name)"
        let note = room < wanted ? "\(quota)/\(live)/\(wanted)" : nil
        let changed = memory.withLock { m in defer { m.holds[key] = note }; return m.holds[key] != note }
        if changed, note != nil {
            try await store.appendEvent(NodeEvent(at: now(), cluster: cluster, group: context.group.name, nodeID: nil, kind: .quotaReached,
                                                  reason: "cluster \(cluster) is at its node quota (\(live) of \(quota) nodes): \(wanted - room) of \(wanted) creates held"))
        }
        return room
    }

    /// Intent first: the node and its token hash are in the store before the provider hears of it.
    private func createNode(_ context: ActionContext, reason: String) async throws {
        let nodeID = NodeID.make()
        let minted = EnrolmentToken.mint()
        let now = self.now()
        let record = NodeRecord(id: nodeID, cluster: context.group.cluster, group: context.group.name, revision: context.group.revision,
                                state: .requested, stateReason: reason, stateSince: now, createdAt: now)
        Failpoint.hit("before-intent")
        try await store.recordNodeIntent(record, tokenHash: minted.hash, tokenExpiry: now.addingTimeInterval(enrolment.tokenLifetime), at: now)
        // The context is shared by every create of the pass and holds every node of the group: a copy of it per
        // create (to add this one) made a pass of n creates in a group of m nodes cost n × m records.
        try await provision(nodeID: nodeID, token: minted.token, requested: true, context, reason: "creating its machine")
    }

    /// `requested`: the node was never offered to the provider (first ask) rather than asked again.
    private func provision(nodeID: String, token: String, requested: Bool, _ context: ActionContext, reason: String) async throws {
        var log = context.logger
        log[metadataKey: "node.id"] = "\(nodeID)"
        let spec = context.group.spec
        var tags = spec.machine.tags
        tags[InstanceTag.cluster] = context.group.cluster
        tags[InstanceTag.group] = context.group.name
        tags[InstanceTag.node] = nodeID
        tags[InstanceTag.specHash] = "r\(context.group.revision)"
        let agent = AgentConfig(nodeID: nodeID, endpoints: endpoints(for: context.provider), caPin: enrolment.caPin, token: token)
        let request = CreateRequest(nodeID: nodeID, spec: spec, tags: tags, agent: agent,
                                    userData: userData(spec: spec, agent: agent, provider: context.provider))
        // The digest lets an operator match the machine's user-data to this node without the token showing.
        let described = (try? request.userData.get()).map { data in
            " (user-data \(data.utf8.count) bytes, sha256 \(Hex.encode(SHA256.hash(data: Array(data.utf8)))))"
        } ?? ""
        if requested {
            try await store.transition(nodeID: nodeID, to: .provisioning, reason: "asking provider \(context.provider.name): \(reason)\(described)", at: now())
        } else {
            try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                                  kind: .nodeProvisioning, reason: "asking provider \(context.provider.name) again: \(reason)\(described)"))
        }
        Failpoint.hit("after-intent")
        do {
            let instance = try await context.provider.create(request)
            Failpoint.hit("after-create")
            try await store.setInstance(nodeID: nodeID, instanceID: instance.id, address: instance.address, at: now())
            log.info("machine created", metadata: ["instance.id": "\(instance.id)"])
        } catch let error as ProviderError where error.code == .timeout {
            // The machine may exist: the next pass lists by the node's tag and adopts it, or creates it again
            // (idempotent on the node id). Failing the node here could leave a machine nobody means.
            try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                                  kind: .providerError, reason: "create timed out: \(error); the next pass looks for its instance by tag"))
        } catch let error as ProviderError {
            try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                                  kind: .providerError, reason: "create failed: \(error)"))
            try await store.transition(nodeID: nodeID, to: .failed, reason: "create failed: \(error.message)", at: now())
        }
    }

    /// Where a node dials: the advertised endpoints, or the provider's own view of the coordinator.
    private func endpoints(for provider: any Provider) -> [String] {
        guard let host = provider.coordinatorHost else { return enrolment.endpoints }
        return ["\(host):\(enrolment.agentPort)"]
    }

    private func userData(spec: GroupSpec, agent: AgentConfig, provider: any Provider) -> Result<String, ProviderError> {
        var artifact: AgentArtifact?
        if let offered = enrolment.artifacts.offered(arch: enrolment.arch), let port = enrolment.artifactPort() {
            let host = provider.coordinatorHost ?? agent.endpoints.first.flatMap { Endpoint($0)?.host } ?? "127.0.0.1"
            let bracketed = host.contains(":") ? "[\(host)]" : host
            artifact = AgentArtifact(url: "https://\(bracketed):\(port)\(offered.path)", sha256: offered.sha256,
                                     caCertificatePEM: enrolment.caCertificatePEM)
        }
        do {
            return .success(try UserData.make(bootstrap: spec.bootstrap, agent: agent, artifact: artifact))
        } catch {
            // Nothing to install is the coordinator's configuration, not the group's spec.
            return .failure(ProviderError(error.code == .noArtifact ? .createFailed : .invalidSpec, provider: provider.name,
                                          "user-data for \(enrolment.arch): \(error.message)"))
        }
    }

    private func adopt(nodeID: String, instanceID: String, _ context: ActionContext) async throws {
        if context.nodes[nodeID]?.state == .requested {
            try await store.transition(nodeID: nodeID, to: .provisioning, reason: "its instance exists", at: now())
        }
        try await store.setInstance(nodeID: nodeID, instanceID: instanceID, address: nil, at: now())
        try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                              kind: .nodeAdopted, reason: "found instance \(instanceID) by its tags; adopted instead of creating another"))
    }

    /// `terminating` is recorded before the provider is asked, so a crash in between is finished on restart.
    /// With a `preTerminate` hook the node stays `terminating` until the hook ends; a later pass finishes it.
    private func terminate(nodeID: String, reason: String, _ context: ActionContext) async throws {
        let node = try await store.transition(nodeID: nodeID, to: .terminating, reason: reason, at: now())
        guard preTerminateFinished(node, context, reason: reason) else { return }
        gateway.disconnect(nodeID: nodeID)
        if let instanceID = context.nodes[nodeID]?.instanceID {
            try await destroy(instanceID: instanceID, nodeID: nodeID, reason: reason, context)
        }
        try await store.transition(nodeID: nodeID, to: .terminated, reason: "instance destroyed", at: now())
        forget(nodeID)
    }

    private func destroy(instanceID: String, nodeID: String?, reason: String, _ context: ActionContext) async throws {
        do {
            try await context.provider.destroy(instanceID: instanceID, reason: reason)
        } catch {
            try await store.appendEvent(NodeEvent(at: now(), cluster: context.group.cluster, group: context.group.name, nodeID: nodeID,
                                                  kind: .providerError, reason: "destroy \(instanceID) failed: \(error)"))
            throw error
        }
    }

    private func forget(_ nodeID: String) {
        memory.withLock { m in
            m.holds[nodeID] = nil
            m.agentRestarts[nodeID] = nil
            m.verdicts[nodeID] = nil
            m.lastWell[nodeID] = nil
            m.hooks["preTerminate/\(nodeID)"] = nil
            m.hooks["postReady/\(nodeID)"] = nil
        }
        tracker.forget(nodeID)
        gateway.disconnect(nodeID: nodeID)
    }
}
