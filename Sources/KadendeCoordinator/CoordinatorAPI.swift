import KadendeAPI
import KadendeAuth
import KadendeBootstrap
import KadendeHealth
import KadendeHTTP
import KadendeModel
import KadendeProviders
import KadendeStore
import KadendeSupport
import struct Foundation.Date

/// The coordinator's answers to the REST API: validation, store calls and mapping to API shapes.
struct CoordinatorAPI: ControlPlane {
    let coordinator: Coordinator

    var store: any Store { coordinator.store }

    func apply(yaml: String) async throws(APIError) -> APIApplyResult {
        let spec: GroupSpec
        do {
            spec = try GroupSpec(yaml: yaml)
        } catch {
            throw APIError(status: 400, code: error.code.rawValue, message: error.message, path: error.path, line: error.line)
        }
        try await require(.apply, in: spec.cluster, target: spec.name)
        if let (path, message) = coordinator.configuration.host.refusal(for: spec) {
            throw APIError(status: 400, code: "capability_disabled", message: message, path: path)
        }
        do {
            try await coordinator.providers.provider(named: spec.provider).validate(spec)
        } catch {
            throw APIError(status: 400, code: error.code.rawValue, message: error.message, path: "provider")
        }
        do {
            // Refuse a bootstrap that could not become user-data now, before any machine exists.
            _ = try UserData.make(bootstrap: spec.bootstrap, agent: .largestPossible, artifact: .largestPossible)
        } catch {
            throw APIError(status: 400, code: error.code.rawValue, message: error.message, path: error.path)
        }
        try await checkQuota(spec)
        let result = try await call { try await store.applyGroup(spec, at: coordinator.configuration.now()) }
        coordinator.reconciler.wake()
        if result.changed { await record(actor, "group.apply", cluster: spec.cluster, target: "\(spec.name) revision \(result.group.revision)") }
        return APIApplyResult(group: try await summary(result.group), changed: result.changed)
    }

    func groups(cluster: String?) async throws(APIError) -> [APIGroup] {
        if let cluster { try await require(.read, in: cluster) }
        let readable = Principal.current?.readableClusters
        var out: [APIGroup] = []
        for group in try await call({ try await store.groups(cluster: cluster) }) where readable?.contains(group.cluster) ?? true {
            out.append(try await summary(group))
        }
        return out
    }

    func group(cluster: String, name: String) async throws(APIError) -> APIGroupDetail {
        try await require(.read, in: cluster)
        let group = try await existing(cluster: cluster, name: name)
        let nodes = try await call { try await store.nodes(cluster: cluster, group: name) }
        let (safety, reasons) = coordinator.reconciler.safety(cluster: cluster, group: name)
        let rules = group.spec.remediation
        return APIGroupDetail(
            group: summary(group, nodes: nodes), spec: group.spec, nodes: nodes.filter { !$0.state.isFinal }.map(apiNode),
            safety: APISafety(breaker: safety?.breaker, held: safety?.held, replacementsInWindow: safety?.replacementsInWindow ?? 0,
                              budget: rules.budget, budgetWindowSeconds: rules.budgetWindow.value, backoffUntil: safety?.backoffUntil,
                              crashLoopStreak: safety?.crashLoopStreak ?? 0, reasons: reasons))
    }

    func node(id: String) async throws(APIError) -> APINodeDetail {
        let record = try await visibleNode(id)
        let group = try await existing(cluster: record.cluster, name: record.group)
        let reconciler = coordinator.reconciler
        let seen = coordinator.tracker.snapshot(id)
        let now = coordinator.configuration.now()
        let signals = reconciler.signals(for: record, seen: seen)
        let (silence, phi) = HealthJudge.silence(signals, policy: group.spec.health, now: now)
        var providerView = "no instance yet"
        if let instanceID = record.instanceID {
            do {
                let provider = try coordinator.providers.provider(named: group.spec.provider, cluster: group.cluster)
                providerView = try await provider.describe(instanceID: instanceID)?.status.rawValue ?? "missing"
            } catch {
                providerView = "unknown: \(error)"
            }
        }
        let verdict = reconciler.verdict(nodeID: id) ?? Verdict(.healthy, record.state.isStarting ? "not judged before it enrols" : "not judged yet")
        let events = try await call { try await store.listEvents(cluster: record.cluster, group: record.group, after: 0, limit: 100_000) }
            .filter { $0.nodeID == id }.suffix(20)
        let policy = group.spec.health
        return APINodeDetail(
            node: apiNode(record),
            heartbeats: .init(last: seen.last, silenceSeconds: silence, phi: phi, phiThreshold: policy.phiThreshold,
                              meanIntervalSeconds: seen.history.mean, deviationSeconds: seen.history.standardDeviation,
                              samples: seen.history.count, intervalSeconds: policy.heartbeatInterval.value,
                              ceilingSeconds: policy.heartbeatTimeout.value),
            connected: seen.connected, provider: providerView, probes: seen.probes, probeViewStale: seen.probeViewStale,
            external: signals.external, agentRestartRequested: signals.agentRestartRequested, convictedAt: record.convictedAt,
            verdict: record.state.isFinal ? record.state.rawValue : verdict.kind.rawValue,
            verdictReason: record.state.isFinal ? record.stateReason : verdict.reason, events: Array(events))
    }

    func deleteGroup(cluster: String, name: String) async throws(APIError) -> APIGroup {
        try await require(.apply, in: cluster, target: name)
        _ = try await existing(cluster: cluster, name: name)
        let group = try await call { try await store.markGroupDeleted(cluster: cluster, name: name, at: coordinator.configuration.now()) }
        await record(actor, "group.delete", cluster: cluster, target: name)
        coordinator.reconciler.wake()
        return try await summary(group)
    }

    func scaleGroup(cluster: String, name: String, desired: Int) async throws(APIError) -> APIApplyResult {
        try await require(.apply, in: cluster, target: name)
        var spec = try await existing(cluster: cluster, name: name).spec
        guard (spec.size.min...spec.size.max).contains(desired) else {
            throw APIError(status: 400, code: "bad_value", message: "desired \(desired) is outside min \(spec.size.min) and max \(spec.size.max)", path: "size.desired")
        }
        spec.size.desired = desired
        try await checkQuota(spec)
        let result = try await call { try await store.applyGroup(spec, at: coordinator.configuration.now()) }
        coordinator.reconciler.wake()
        if result.changed { await record(actor, "group.scale", cluster: cluster, target: "\(name) to \(desired)") }
        return APIApplyResult(group: try await summary(result.group), changed: result.changed)
    }

    func terminateNode(id: String) async throws(APIError) -> APINode {
        let node = try await visibleNode(id)
        try await require(.terminate, in: node.cluster, target: id)
        guard node.state.isActive || node.state == .unhealthy else {
            throw APIError(status: 409, code: "conflict", message: "node \(id) is \(node.state.rawValue) already")
        }
        let who = actor
        let updated = try await call {
            try await store.transition(nodeID: id, to: .terminating, reason: "terminated by \(who); the group replaces it while below its size",
                                       at: coordinator.configuration.now())
        }
        coordinator.reconciler.wake()
        await record(who, "node.terminate", cluster: node.cluster, target: "\(id) of \(node.group)")
        return apiNode(updated)
    }

    func nodes(cluster: String, group: String?) async throws(APIError) -> [APINode] {
        try await require(.read, in: cluster)
        if let group { _ = try await existing(cluster: cluster, name: group) }
        return try await call { try await store.nodes(cluster: cluster, group: group) }.filter { !$0.state.isFinal }.map(apiNode)
    }

    func eventStream(cluster: String?, group: String?, after: Int64) async throws(APIError) -> AsyncStream<APIEvent> {
        if let cluster { try await require(.read, in: cluster) }
        guard Principal.current != nil else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        let readable = Principal.current?.readableClusters
        let wanted: @Sendable (APIEvent) -> Bool = { e in
            (readable?.contains(e.cluster) ?? true) && (cluster == nil || e.cluster == cluster) && (group == nil || e.group == group)
        }
        // Subscribe first, then read the backlog: nothing committed in between is lost, nothing is sent twice.
        let live = store.events.subscribe()
        let backlog = try await call { try await store.listEvents(cluster: cluster, group: group, after: after, limit: 100_000) }
            .filter(wanted).suffix(1_000)
        let (stream, continuation) = AsyncStream<APIEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let pump = Task {
            var last = after
            for event in backlog {
                continuation.yield(event)
                last = event.seq
            }
            for await event in live where event.seq > last && wanted(event) {
                continuation.yield(event)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in pump.cancel() }
        return stream
    }

    func events(cluster: String?, group: String?, after: Int64, limit: Int, waitSeconds: Double) async throws(APIError) -> [APIEvent] {
        if let cluster { try await require(.read, in: cluster) }
        // Without a cluster: the events of the clusters the caller may read.
        let readable = Principal.current?.readableClusters
        let visible: @Sendable (APIEvent) -> Bool = { readable?.contains($0.cluster) ?? true }
        // Subscribe before reading so an event committed in between is not missed.
        let live = store.events.subscribe()
        let stored = try await call { try await store.listEvents(cluster: cluster, group: group, after: after, limit: limit) }.filter(visible)
        guard stored.isEmpty, waitSeconds > 0 else { return stored }
        let deadline = ContinuousClock.now + .milliseconds(Int(waitSeconds * 1000))
        return await withTaskGroup(of: [APIEvent].self) { tasks in
            tasks.addTask {
                for await event in live where event.seq > after && visible(event)
                    && (cluster == nil || event.cluster == cluster) && (group == nil || event.group == group) {
                    return [event]
                }
                return []
            }
            tasks.addTask {
                try? await Task.sleep(until: deadline)
                return []
            }
            let first = await tasks.next() ?? []
            tasks.cancelAll()
            return first
        }
    }

    // MARK: Helpers

    /// A node the caller may read. One that exists in a cluster the caller may not read gets the very answer of one
    /// that does not exist, so node ids cannot be probed across tenants.
    func visibleNode(_ id: String) async throws(APIError) -> NodeRecord {
        let hidden = APIError.notFound("node \(OutsideText.sanitized(id, limit: 40)) does not exist or is not in a cluster you may read")
        guard NodeID.isValid(id), let node = try await call({ try await store.node(id: id) }),
              Principal.current?.may(.read, in: node.cluster) == true else { throw hidden }
        return node
    }

    func existing(cluster: String, name: String) async throws(APIError) -> GroupRecord {
        guard let group = try await call({ try await store.group(cluster: cluster, name: name) }) else {
            throw APIError.notFound("group \(cluster)/\(name) does not exist")
        }
        return group
    }

    private func summary(_ group: GroupRecord) async throws(APIError) -> APIGroup {
        summary(group, nodes: try await call { try await store.nodes(cluster: group.cluster, group: group.name) })
    }

    private func summary(_ group: GroupRecord, nodes: [NodeRecord]) -> APIGroup {
        var counts: [String: Int] = [:]
        for node in nodes where !node.state.isFinal { counts[node.state.rawValue, default: 0] += 1 }
        return APIGroup(cluster: group.cluster, name: group.name, revision: group.revision, provider: group.spec.provider,
                        size: group.spec.size, deleted: group.deleted, nodes: counts, healthy: counts[NodeState.healthy.rawValue] ?? 0)
    }

    func apiNode(_ node: NodeRecord) -> APINode {
        APINode(id: node.id, cluster: node.cluster, group: node.group, state: node.state, reason: node.stateReason,
                since: node.stateSince, instanceID: node.instanceID, address: node.address, createdAt: node.createdAt,
                lastHeartbeat: coordinator.tracker.lastHeartbeat(node.id) ?? node.lastHeartbeat,
                connected: coordinator.tracker.isConnected(node.id),
                verdict: coordinator.reconciler.verdict(nodeID: node.id)?.kind.rawValue,
                verdictReason: coordinator.reconciler.verdict(nodeID: node.id)?.reason, labels: node.labels.isEmpty ? nil : node.labels)
    }

    func call<T>(_ body: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound(error.message)
        } catch let error as StoreError where error.code == .conflict {
            throw APIError(status: 409, code: "conflict", message: error.message)
        } catch {
            coordinator.configuration.logger.error("store call failed", metadata: ["error": "\(error)"])
            throw APIError.internalError("the store could not answer")
        }
    }
}
