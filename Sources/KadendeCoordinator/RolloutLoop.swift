import KadendeGateway
import KadendeHealth
import KadendeModel
import KadendeRollout
import KadendeStore
import KadendeSupport
import KadendeWire
import Logging
import ServiceLifecycle
import Synchronization
import struct Foundation.Date

/// Runs configuration rollouts: plans each active rollout (`RolloutPlanner`), records the decision, then sends
/// the revision. Acks arrive from the gateway, are written in batches (thousands of agents answer within a
/// second) and wake the next pass. New and reconnecting agents get the revision they should run right after
/// their `Welcome`.
public final class RolloutLoop: Service, ConfigDelivery, Sendable {
    let store: any Store
    let gateway: AgentGateway
    let reconciler: ReconcileLoop
    let now: @Sendable () -> Date
    let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation
    private let memory = Mutex(Memory())
    /// Events made of acks, per node: twenty at once and ten a minute after; all nodes of a fleet-wide rollout together.
    private let ackEvents: SharedWriteAllowance = {
        var allowance = WriteAllowance()
        allowance.burstPerSource = 20
        allowance.perSourcePerMinute = 10
        allowance.burstOverall = 50_000
        allowance.overallPerMinute = 600_000
        allowance.capacity = 100_000
        return SharedWriteAllowance(allowance)
    }()

    struct Memory {
        var reports: [String: (ack: Ack, at: Date)] = [:]
        var events: [NodeEvent] = []
        var frames: [String: Frame] = [:]
        var failuresShown: Set<String> = []
        var plans: [Int64: RolloutPlanner.Plan] = [:]
        /// Where this replica is in the store's order of desired revisions (nil until the first pass).
        var relayed: Int64?
        /// Revisions this replica sent its own connections itself, which the relay need not send again.
        var sentHere: [String: Int] = [:]
    }

    init(store: any Store, gateway: AgentGateway, reconciler: ReconcileLoop, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.store = store
        self.gateway = gateway
        self.reconciler = reconciler
        self.now = now
        self.logger = logger
        (wakeups, wakeup) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() { wakeup.yield() }

    /// The latest plan of a rollout: its status line, counts and each node's standing.
    public func plan(rolloutID: Int64) -> RolloutPlanner.Plan? { memory.withLock { $0.plans[rolloutID] } }

    public func run() async throws {
        let ticker = Task {
            // A slow tick for bakes and timeouts; acks and pushes wake the loop at once.
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                wakeup.yield()
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeups {
                await self.pass()
            }
        }
        await flush()
    }

    /// Writes buffered acks, then plans every active rollout once.
    func pass() async {
        await flush()
        await relay()
        do {
            // The owner of a group runs its rollouts, under the group's lease.
            for rollout in try await store.activeRollouts() {
                guard let lease = reconciler.lease("\(rollout.cluster)/\(rollout.group)") else { continue }
                try await Fence.$current.withValue(lease) { try await step(rollout) }
            }
        } catch {
            logger.error("rollout pass failed", metadata: ["error": "\(error)"])
        }
    }

    private func flush() async {
        let (reports, events) = memory.withLock { m in
            defer { m.reports = [:]; m.events = [] }
            return (m.reports, m.events)
        }
        do {
            try await store.recordReports(reports, events: events)
        } catch {
            // Put them back unless newer ones arrived meanwhile: nothing an agent said is dropped.
            memory.withLock { m in
                m.reports.merge(reports) { newer, _ in newer }
                m.events = events + m.events
            }
            logger.error("cannot record configuration acks", metadata: ["error": "\(error)", "acks": "\(reports.count)"])
        }
    }

    /// Sends the revisions decided anywhere (by each group's owner, on whichever replica) to the agents connected
    /// here, through the store: an agent gets its push whichever replica it is connected to. Agents not connected
    /// here are another replica's to serve, or get the revision in their next `Welcome`.
    private func relay() async {
        do {
            let position = memory.withLock { $0.relayed }
            let page = try await store.desiredSince(position, limit: Self.relayPage)
            let due = memory.withLock { m in
                m.relayed = page.position
                let due = page.changes.filter { m.sentHere.removeValue(forKey: $0.nodeID) != $0.revision }
                // Entries whose change never comes back (the node's row purged meanwhile) must not pile up; forgetting
                // them all costs at most one push sent twice, which agents apply once.
                if m.sentHere.count > 4 * Self.relayPage { m.sentHere.removeAll() }
                return due
            }
            guard position != nil else { return }
            let batches = Dictionary(grouping: due) { RevisionKey(cluster: $0.cluster, group: $0.group, revision: $0.revision) }
            for (key, changes) in batches {
                let frame = try await frame(cluster: key.cluster, group: key.group, revision: key.revision)
                let offline = gateway.push(frame, to: changes.map(\.nodeID))
                if offline.count < changes.count {
                    logger.debug("relayed a revision to agents connected here", metadata: [
                        "group.id": "\(key.cluster)/\(key.group)", "revision": "\(key.revision)", "nodes": "\(changes.count - offline.count)"])
                }
            }
        } catch {
            logger.error("cannot relay desired revisions", metadata: ["error": "\(error)"])
        }
    }

    struct RevisionKey: Hashable {
        var cluster: String
        var group: String
        var revision: Int
    }

    /// Desired revisions read per pass; passes come every 250 ms or sooner, so a page is never behind for long.
    static let relayPage = 20_000

    private func step(_ rollout: RolloutRecord) async throws {
        let now = self.now()
        let nodes = try await store.nodes(cluster: rollout.cluster, group: rollout.group)
        let configs = try await store.nodeConfigs(cluster: rollout.cluster, group: rollout.group)
        let views = nodes.map { node -> RolloutPlanner.NodeView in
            let verdict = reconciler.verdict(nodeID: node.id)
            let healthy = node.state == .healthy && (verdict.map { $0.kind == .healthy } ?? true)
            return RolloutPlanner.NodeView(id: node.id, state: node.state, labels: node.labels, healthy: healthy,
                                           healthReason: verdict?.reason ?? node.stateReason, config: configs[node.id])
        }
        let plan = RolloutPlanner.plan(rollout, nodes: views, now: now)
        memory.withLock { $0.plans[rollout.id] = plan }
        for decision in plan.decisions {
            switch decision {
            case .nodeFailed(let node, let reason):
                let key = "\(rollout.id)/\(node)"
                guard memory.withLock({ $0.failuresShown.insert(key).inserted }) else { continue }
                // A failure the node reported has its event already (node.config_failed with its output).
                if let reported = configs[node]?.reported, reported.outcome == .failed, reported.revision == (rollout.state == .rollingBack ? rollout.previous : rollout.revision) { continue }
                try await store.appendEvent(NodeEvent(at: now, cluster: rollout.cluster, group: rollout.group, nodeID: node,
                                                      kind: .configFailed, reason: "rollout \(rollout.id), revision \(rollout.revision): \(reason)"))
            case .push(let ids, let revision, let reason):
                try await store.setDesired(nodeIDs: ids, revision: revision, rollout: rollout.id, at: now)
                try await store.appendEvent(NodeEvent(at: now, cluster: rollout.cluster, group: rollout.group, nodeID: nil, kind: .configBatch,
                                                      reason: "rollout \(rollout.id): revision \(revision) to \(ids.joined(separator: ", ")) (\(reason))"))
                let frame = try await frame(cluster: rollout.cluster, group: rollout.group, revision: revision)
                let offline = gateway.push(frame, to: ids)
                let absent = Set(offline)
                memory.withLock { m in for id in ids where !absent.contains(id) { m.sentHere[id] = revision } }
                if !offline.isEmpty {
                    logger.info("nodes not connected here get the revision from the replica they are connected to, or when they reconnect", metadata: [
                        "group.id": "\(rollout.cluster)/\(rollout.group)", "revision": "\(revision)", "nodes": "\(offline.count)"])
                }
            case .transition(let state, let reason):
                let kind: NodeEvent.Kind = state == .rollingBack ? .rolloutRollback : .rolloutFinished
                try await store.updateRollout(id: rollout.id, state: state, reason: reason, at: now, events: [
                    NodeEvent(at: now, cluster: rollout.cluster, group: rollout.group, nodeID: nil, kind: kind,
                              reason: "rollout \(rollout.id) \(state.rawValue): \(reason)"),
                ])
                if state == .succeeded, rollout.target.isWholeGroup {
                    try await store.setGroupConfigRevision(cluster: rollout.cluster, group: rollout.group, revision: rollout.revision)
                }
                logger.info("rollout \(state.rawValue)", metadata: ["group.id": "\(rollout.cluster)/\(rollout.group)", "rollout": "\(rollout.id)", "reason": "\(reason)"])
                if state == .rollingBack { wake() }
            }
        }
    }

    /// The push frame of a revision, encoded once and sent to every node as is.
    func frame(cluster: String, group: String, revision: Int) async throws -> Frame {
        let key = "\(cluster)/\(group)/\(revision)"
        if let frame = memory.withLock({ $0.frames[key] }) { return frame }
        guard let record = try await store.configRevision(cluster: cluster, group: group, revision: revision) else {
            throw StoreError(.notFound, "group \(cluster)/\(group) has no configuration revision \(revision)")
        }
        let frame = try WireCodec.encode(.push(Push(config: record.config)))
        memory.withLock { $0.frames[key] = frame }
        return frame
    }

    // MARK: ConfigDelivery

    public func agentConnected(nodeID: String, reported: Ack?, at: Date) async -> Push? {
        if let reported { memory.withLock { $0.reports[nodeID] = (reported, at) } }
        do {
            guard let node = try await store.node(id: nodeID) else { return nil }
            var desired = try await store.nodeConfig(nodeID: nodeID)?.desired
            if desired == nil, let current = try await store.group(cluster: node.cluster, name: node.group)?.configRevision {
                // A new or replacement node: the group's current revision.
                try await store.setDesired(nodeIDs: [nodeID], revision: current, rollout: nil, at: at)
                memory.withLock { $0.sentHere[nodeID] = current }  // sent below, in reply to the hello
                desired = current
            }
            guard let desired else { return nil }
            guard let record = try await store.configRevision(cluster: node.cluster, group: node.group, revision: desired) else { return nil }
            if let reported, reported.revision == desired, reported.digest == record.config.digest,
               reported.outcome == .applied || reported.outcome == .applying || reported.outcome == .failed {
                return nil  // already there, on its way, or failed (the rollout decides what follows a failure)
            }
            var logger = self.logger
            logger[metadataKey: "node.id"] = "\(nodeID)"
            logger.info("sending the revision the node should run", metadata: [
                "group.id": "\(node.cluster)/\(node.group)", "revision": "\(desired)", "reported": "\(reported.map { "\($0.revision) \($0.outcome.rawValue)" } ?? "none")"])
            return Push(config: record.config)
        } catch {
            logger.error("cannot look up a node's configuration", metadata: ["node.id": "\(nodeID)", "error": "\(error)"])
            return nil
        }
    }

    public func acknowledged(nodeID: String, ack: Ack, at: Date) {
        // A node that acks without end cannot turn each ack into a stored event: a few per node per minute are
        // more than any rollout sends it; the ack itself is still taken as the node's report.
        let recorded = ack.outcome != .applying && ackEvents.take(source: nodeID, now: at.timeIntervalSince1970).allowed
        memory.withLock { m in
            m.reports[nodeID] = (ack, at)
            guard recorded else { return }
            // Cluster and group are filled in when the event is written; the node id is enough to find them.
            m.events.append(NodeEvent(at: at, cluster: "", group: "", nodeID: nodeID, kind: ack.outcome == .applied ? .configApplied : .configFailed,
                                      reason: ack.outcome == .applied
                                        ? "revision \(ack.revision) applied: " + Self.summary(ack.steps ?? [])
                                        : "revision \(ack.revision) failed: \(OutsideText.sanitized(ack.message ?? "no reason given", limit: 400))"))
        }
        wake()
    }

    static func summary(_ steps: [StepResult]) -> String {
        var counts: [StepResult.Outcome: Int] = [:]
        for step in steps { counts[step.outcome, default: 0] += 1 }
        let parts = [StepResult.Outcome.changed, .unchanged, .ran, .skipped].compactMap { o in counts[o].map { "\($0) \(o.rawValue)" } }
        return parts.isEmpty ? "nothing to do" : parts.joined(separator: ", ")
    }
}
