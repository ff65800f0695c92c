import KadendeAPI
import KadendeAuth
import KadendeHTTP
import KadendeModel
import KadendeRollout
import KadendeStore
import KadendeWire
import struct Foundation.Date

/// Configuration revisions and rollouts through the REST API.
extension CoordinatorAPI {
    func pushConfig(cluster: String, group: String, yaml: String) async throws(APIError) -> APIPushResult {
        try await require(.push, in: cluster, target: group)
        let push: ConfigPush
        do {
            push = try ConfigPush(yaml: yaml)
        } catch {
            throw APIError(status: 400, code: error.code.rawValue, message: error.message, path: error.path, line: error.line)
        }
        if let named = push.group, named != group {
            throw APIError(status: 400, code: "bad_value", message: "the file is for group \(named), not \(group)", path: "group")
        }
        if let named = push.cluster, named != cluster {
            throw APIError(status: 400, code: "bad_value", message: "the file is for cluster \(named), not \(cluster)", path: "cluster")
        }
        _ = try await existing(cluster: cluster, name: group)
        let nodes = try await call { try await store.nodes(cluster: cluster, group: group) }
        for (i, id) in push.target.nodes.enumerated() where !nodes.contains(where: { $0.id == id && !$0.state.isFinal }) {
            throw APIError(status: 400, code: "bad_value", message: "node \(id) is not a live node of \(cluster)/\(group)", path: "target.nodes[\(i)]")
        }
        if !push.target.isWholeGroup, !nodes.contains(where: { !$0.state.isFinal && push.target.matches(nodeID: $0.id, labels: $0.labels) }) {
            throw APIError(status: 400, code: "bad_value", message: "the target matches no live node of \(cluster)/\(group)", path: "target")
        }
        do {
            var sized = push.content
            for i in sized.files.indices { sized.files[i].sha256 = String(repeating: "0", count: 64) }
            sized.digest = String(repeating: "0", count: 64)
            let size = try WireCodec.encode(.push(Push(config: sized))).payload.readableBytes
            guard size <= ConfigPush.maxEncodedSize else {
                throw APIError(status: 400, code: "bad_value", message: "the revision encodes to \(size) bytes; at most \(ConfigPush.maxEncodedSize) fit in one message", path: "files")
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.internalError("cannot encode the revision")
        }
        let (revision, rollout) = try await call { try await store.pushConfig(push, cluster: cluster, group: group, at: coordinator.configuration.now()) }
        coordinator.rollouts.wake()
        await record(actor, "config.push", cluster: cluster, target: "\(group) revision \(revision.revision)")
        return APIPushResult(revision: apiRevision(revision), rollout: apiRollout(rollout))
    }

    func configRevisions(cluster: String, group: String) async throws(APIError) -> [APIConfigRevision] {
        try await require(.read, in: cluster)
        _ = try await existing(cluster: cluster, name: group)
        return try await call { try await store.configRevisions(cluster: cluster, group: group) }.map(apiRevision)
    }

    func configRevision(cluster: String, group: String, revision: Int) async throws(APIError) -> APIConfigRevision {
        try await require(.read, in: cluster)
        _ = try await existing(cluster: cluster, name: group)
        guard let record = try await call({ try await store.configRevision(cluster: cluster, group: group, revision: revision) }) else {
            throw APIError.notFound("group \(cluster)/\(group) has no configuration revision \(revision)")
        }
        return apiRevision(record)
    }

    func configStatus(cluster: String, group: String) async throws(APIError) -> APIConfigStatus {
        try await require(.read, in: cluster)
        let g = try await existing(cluster: cluster, name: group)
        let nodes = try await call { try await store.nodes(cluster: cluster, group: group) }
        let configs = try await call { try await store.nodeConfigs(cluster: cluster, group: group) }
        let latest = try await call { try await store.rollouts(cluster: cluster, group: group, limit: 1) }.first
        let revisions = try await call { try await store.configRevisions(cluster: cluster, group: group) }
        let plan = latest.flatMap { coordinator.rollouts.plan(rolloutID: $0.id) }
        let rows = nodes.filter { !$0.state.isFinal }.map { node -> APINodeConfig in
            let config = configs[node.id]
            return APINodeConfig(id: node.id, state: node.state, labels: node.labels, desired: config?.desired,
                                 revision: config?.reported?.revision, outcome: config?.reported?.outcome.rawValue,
                                 message: config?.reported?.message, steps: config?.reported?.steps, reportedAt: config?.reportedAt,
                                 rollout: latest?.state.isActive == true ? plan?.statuses[node.id].map(Self.describe) : nil,
                                 lastFailure: config?.lastFailure)
        }
        return APIConfigStatus(cluster: cluster, group: group, currentRevision: g.configRevision, latestRevision: revisions.last?.revision,
                               rollout: latest.map(apiRollout), nodes: rows)
    }

    func rollouts(cluster: String, group: String) async throws(APIError) -> [APIRollout] {
        try await require(.read, in: cluster)
        _ = try await existing(cluster: cluster, name: group)
        return try await call { try await store.rollouts(cluster: cluster, group: group, limit: 100) }.map(apiRollout)
    }

    func rollback(cluster: String, group: String, to revision: Int, allAtOnce: Bool, bake: Double?) async throws(APIError) -> APIRollout {
        try await require(.push, in: cluster, target: group)
        _ = try await existing(cluster: cluster, name: group)
        // The group's last push says how carefully it rolls out; a rollback goes the same way unless told.
        var policy = try await call { try await store.rollouts(cluster: cluster, group: group, limit: 1) }.first?.policy ?? RolloutPolicy()
        if allAtOnce { policy.strategy = .allAtOnce }
        if let bake { policy.bake = Seconds(bake) }
        let rollout = try await call {
            try await store.startRollout(cluster: cluster, group: group, revision: revision, kind: .rollback, target: ConfigTarget(),
                                         policy: policy, reason: "rollback to revision \(revision) asked for by an operator",
                                         at: coordinator.configuration.now())
        }
        coordinator.rollouts.wake()
        await record(actor, "config.rollback", cluster: cluster, target: "\(group) to revision \(revision)")
        return apiRollout(rollout)
    }

    func controlRollout(cluster: String, group: String, action: String) async throws(APIError) -> APIRollout {
        try await require(.push, in: cluster, target: group)
        _ = try await existing(cluster: cluster, name: group)
        guard var rollout = try await call({ try await store.rollouts(cluster: cluster, group: group, limit: 1) }).first, rollout.state.isActive else {
            throw APIError(status: 409, code: "conflict", message: "group \(cluster)/\(group) has no active rollout")
        }
        let next: RolloutState
        switch (action, rollout.state) {
        case ("pause", .running): next = .paused
        case ("resume", .paused): next = .running
        case ("abort", .running), ("abort", .paused), ("abort", .rollingBack): next = .aborted
        case ("pause", _), ("resume", _):
            throw APIError(status: 409, code: "conflict", message: "rollout \(rollout.id) is \(rollout.state.rawValue); cannot \(action) it")
        default:
            throw APIError.badRequest("bad_parameter", "action must be pause, resume or abort")
        }
        let reason = next == .aborted
            ? "aborted by an operator: nodes stay on whatever revision they reached"
            : "\(next == .paused ? "paused" : "resumed") by an operator"
        let now = coordinator.configuration.now()
        try await call {
            try await store.updateRollout(id: rollout.id, state: next, reason: reason, at: now, events: [
                NodeEvent(at: now, cluster: cluster, group: group, nodeID: nil, kind: .rolloutControl, reason: "rollout \(rollout.id): \(reason)"),
            ])
        }
        rollout.state = next
        rollout.reason = reason
        coordinator.rollouts.wake()
        await record(actor, "config.\(action)", cluster: cluster, target: "\(group) rollout \(rollout.id)")
        return apiRollout(rollout)
    }

    func setLabels(nodeID: String, change: APILabelChange) async throws(APIError) -> APINode {
        let node = try await visibleNode(nodeID)
        try await require(.terminate, in: node.cluster, target: nodeID)
        for (key, value) in change.set {
            guard key.isLabelKey, value.isLabelValue else {
                throw APIError(status: 400, code: "bad_value", message: "\(key.prefix(64))=\(value.prefix(64)): keys and values are up to 63 letters, digits, '.', '-', '_', '/'", path: "set")
            }
        }
        var labels = node.labels
        labels.merge(change.set) { _, new in new }
        for key in change.remove { labels[key] = nil }
        guard labels.count <= 64 else { throw APIError(status: 400, code: "bad_value", message: "at most 64 labels per node", path: "set") }
        let updated = try await call { try await store.setLabels(nodeID: nodeID, labels: labels, at: coordinator.configuration.now()) }
        return apiNode(updated)
    }

    // MARK: Shapes

    func apiRevision(_ r: ConfigRevisionRecord) -> APIConfigRevision {
        APIConfigRevision(cluster: r.cluster, group: r.group, revision: r.revision, digest: r.config.digest, message: r.message,
                          createdAt: r.createdAt, config: r.config)
    }

    func apiRollout(_ r: RolloutRecord) -> APIRollout {
        let plan = r.state.isActive ? coordinator.rollouts.plan(rolloutID: r.id) : nil
        return APIRollout(id: r.id, revision: r.revision, previous: r.previous, kind: r.kind.rawValue, state: r.state.rawValue, reason: r.reason,
                          status: plan?.status, progress: plan.map { p in
                              APIRolloutProgress(targeted: p.progress.targeted, done: p.progress.done, applying: p.progress.applying,
                                                 baking: p.progress.baking, failed: p.progress.failed, pending: p.progress.pending)
                          }, target: r.target.description, policy: r.policy, createdAt: r.createdAt, updatedAt: r.updatedAt)
    }

    static func describe(_ status: RolloutPlanner.NodeStatus) -> String {
        switch status {
        case .pending: "pending"
        case .applying: "applying"
        case .baking(let until): "baking until \(until)"
        case .done: "done"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}
