import KadendeGateway
import KadendeHealth
import KadendeModel
import KadendePKI
import KadendeProviders
import KadendeReconciler
import KadendeStore
import KadendeWire
import Logging
import ServiceLifecycle
import Synchronization
import struct Foundation.Date

/// Executes the reconciler's plans. Thin on purpose: every decision is in `Reconciler.plan`; this loop observes,
/// records intent in the store before each provider call, and turns every provider result into state or an event.
public final class ReconcileLoop: Service, Sendable {
    public struct Enrolment: Sendable {
        public var endpoints: [String]
        public var caPin: String
        public var tokenLifetime: Double
        /// The agent listener's port, for providers whose machines reach the coordinator at their own address.
        public var agentPort: Int
        /// The artifact listener's port, once bound; nil when it is off.
        public var artifactPort: @Sendable () -> Int?
        public var artifacts: AgentArtifacts
        public var caCertificatePEM: String
        public var arch: String
    }

    /// What the loop remembers between passes; none of it is needed for correctness after a restart.
    struct Memory {
        /// Silence is counted from here at the earliest: the start plus the grace, moved on a clock anomaly.
        var watchStart: Date
        var lastPass: Date?
        var safety: [String: SafetyStatus] = [:]
        var verdicts: [String: Verdict] = [:]
        var reasons: [String: [String]] = [:]
        /// Holds already recorded as events, by node, so a held conviction is one event and not one per pass.
        var holds: [String: String] = [:]
        var agentRestarts: [String: Date] = [:]
        var hold: String?
        /// Lifecycle hooks started or finished, by hook and node.
        var hooks: [String: HookState] = [:]
        /// Instances of groups Kadende no longer has: when this coordinator first saw each.
        var orphansSeen: [String: Date] = [:]
        var lastSweep: Date?
        /// Each node's newest heartbeat seen while it was judged healthy: where detection latency starts.
        var lastWell: [String: Date] = [:]
    }

    let store: any Store
    let providers: ProviderRegistry
    let tracker: HeartbeatTracker
    let gateway: AgentGateway
    let prober: ExternalProber
    let enrolment: Enrolment
    let restartGrace: Double
    let orphanGrace: Double
    let metrics: CoordinatorMetrics
    let replica: ReplicaSettings
    /// Commands coordinator-side hooks may name (the server's configuration), name → executable.
    let coordinatorHooks: [String: String]
    let ownership = Mutex(Ownership())
    let now: @Sendable () -> Date
    let logger: Logger
    let startedAt: Date
    let memory: Mutex<Memory>
    private let woken = Atomic<Bool>(false)

    /// A pass that comes this much later than the previous one means the coordinator itself was stopped (or
    /// its clock jumped): nobody's silence during that gap is evidence.
    static let clockJump = 30.0
    /// The self-check's view of "enough agents": at least half of the nodes that should be talking are.
    static let selfCheckMinimumNodes = 4
    /// Creates of one pass in flight at once (each still waits for the provider's own cap).
    static let createWindow = 64

    init(store: any Store, providers: ProviderRegistry, tracker: HeartbeatTracker, gateway: AgentGateway, prober: ExternalProber,
         enrolment: Enrolment, restartGrace: Double, orphanGrace: Double, metrics: CoordinatorMetrics, replica: ReplicaSettings,
         coordinatorHooks: [String: String] = [:], now: @escaping @Sendable () -> Date, logger: Logger) {
        self.coordinatorHooks = coordinatorHooks
        self.store = store
        self.providers = providers
        self.tracker = tracker
        self.gateway = gateway
        self.prober = prober
        self.enrolment = enrolment
        self.restartGrace = restartGrace
        self.orphanGrace = orphanGrace
        self.metrics = metrics
        self.replica = replica
        self.now = now
        self.logger = logger
        let started = now()
        self.startedAt = started
        self.memory = Mutex(Memory(watchStart: started.addingTimeInterval(restartGrace)))
    }

    /// Asks for a pass as soon as possible (after an apply or delete).
    public func wake() { woken.store(true, ordering: .relaxed) }

    public func run() async throws {
        let keeper = leaseKeeper()
        let flusher = heartbeatFlusher()
        defer {
            keeper.cancel()
            flusher.cancel()
        }
        passes: while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let next = await reconcileAll()
            // Short ticks keep a wake-up prompt without a second channel; the plan says when work is due.
            while now() < next && !woken.exchange(false, ordering: .relaxed) {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }
                } catch {
                    break passes
                }
            }
        }
        // A graceful stop hands this replica's groups over at once instead of after their leases run out.
        keeper.cancel()
        do {
            try await store.releaseLeases(owner: replica.id)
        } catch {
            logger.warning("cannot release group leases", metadata: ["error": "\(error)"])
        }
    }

    /// One pass over every group; returns when the next pass is due.
    @discardableResult
    public func reconcileAll() async -> Date {
        var next = now().addingTimeInterval(5)
        do {
            await flushHeartbeats()
            // The keeper renews in the background; a pass that finds the renewal stale (the first pass, a clock that
            // moved) renews first rather than skip every group.
            let now = self.now()
            if ownership.withLock({ $0.renewedAt.map { now.timeIntervalSince($0) >= replica.leaseDuration / 4 || now < $0 } ?? true }) {
                await renewLeases()
            }
            let groups = try await store.groups(cluster: nil)
            let hold = try await selfCheck(groups)
            for group in groups {
                // Only the group's owner reconciles it, and every write it makes is fenced by the lease's term.
                guard let lease = lease("\(group.cluster)/\(group.name)") else { continue }
                let groupHold = hold ?? failoverHold(lease)
                next = min(next, await Fence.$current.withValue(lease) { await reconcile(group, hold: groupHold) })
            }
            // Orphans of vanished groups: swept by the replica that owns the first group (or the only coordinator).
            if groups.isEmpty || lease("\(groups[0].cluster)/\(groups[0].name)") != nil {
                await sweepOrphans(groups)
            }
        } catch {
            // The store is unreachable: nothing is planned, so nobody is convicted on a view that cannot be
            // recorded.
            logger.error("reconcile pass failed", metadata: ["error": "\(error)"])
            next = now().addingTimeInterval(1)
        }
        return next
    }

    /// The coordinator checks itself before it convicts anyone: its start-up grace, its clock, and whether it
    /// still hears from enough of the fleet. Returns why convictions are held, or nil.
    public func selfCheck(_ groups: [GroupRecord]) async throws -> String? {
        let now = self.now()
        let (watchStart, clockNote): (Date, String?) = memory.withLock { m in
            var note: String?
            if let last = m.lastPass {
                if now < last.addingTimeInterval(-1) {
                    note = "the clock went back \(Int(last.timeIntervalSince(now)))s"
                } else if now.timeIntervalSince(last) > Self.clockJump {
                    note = "\(Int(now.timeIntervalSince(last)))s passed between two passes (the coordinator was stopped or its clock jumped)"
                }
            }
            if note != nil { m.watchStart = now.addingTimeInterval(restartGrace) }
            m.lastPass = now
            return (m.watchStart, note)
        }
        if let clockNote { logger.warning("clock anomaly: silence is counted afresh", metadata: ["detail": "\(clockNote)"]) }
        var hold: String?
        if now < watchStart {
            hold = clockNote.map { "\($0); silence counts again from \(watchStart)" }
                ?? "the coordinator started at \(startedAt); nobody is convicted before \(watchStart) while agents reconnect"
        } else {
            let intervals = Dictionary(groups.map { ("\($0.cluster)/\($0.name)", $0.spec.health.heartbeatInterval.value) },
                                       uniquingKeysWith: { a, _ in a })
            let live = try await store.allLiveNodes().filter { $0.state == .healthy || $0.state == .suspect }
            let fresh = live.filter { node in
                let interval = intervals["\(node.cluster)/\(node.group)"] ?? 1
                // Heard here, or by another replica (through the store).
                let last = [tracker.lastHeartbeat(node.id), node.lastHeartbeat].compactMap { $0 }.max()
                return last.map { now.timeIntervalSince($0) < 3 * interval } ?? false
            }.count
            if live.count >= Self.selfCheckMinimumNodes, fresh * 2 < live.count {
                hold = "self-check: only \(fresh) of \(live.count) agents heard from recently; the coordinator may be the one cut off"
            }
        }
        let previous = memory.withLock { m in defer { m.hold = hold }; return m.hold }
        if hold != previous {
            if let hold { logger.warning("convictions held", metadata: ["reason": "\(hold)"]) }
            else { logger.info("convictions allowed again") }
        }
        return hold
    }

    func reconcile(_ group: GroupRecord, hold: String?) async -> Date {
        var log = logger
        let key = "\(group.cluster)/\(group.name)"
        log[metadataKey: "group.id"] = "\(key)"
        let provider: any Provider
        do {
            provider = try providers.provider(named: group.spec.provider, cluster: group.cluster)
        } catch {
            log.error("group names an unknown provider", metadata: ["error": "\(error)"])
            return now().addingTimeInterval(10)
        }
        let nodes: [NodeRecord]
        do {
            nodes = try await store.nodes(cluster: group.cluster, group: group.name)
        } catch {
            log.error("cannot read nodes", metadata: ["error": "\(error)"])
            return now().addingTimeInterval(1)
        }
        var instances: [Instance]?
        do {
            instances = try await provider.list(tags: [InstanceTag.cluster: group.cluster, InstanceTag.group: group.name])
        } catch {
            log.warning("provider list failed", metadata: ["error": "\(error)"])
        }
        // External probes follow every node that has an address and is not on its way out.
        let watched = nodes.filter { $0.state.isActive && !$0.state.isFinal }
            .reduce(into: [String: String]()) { out, node in if let address = node.address { out[node.id] = address } }
        prober.watch(group: key, nodes: watched, probes: group.deleted ? [] : group.spec.health.external)

        let now = self.now()
        let observed = nodes.map { record in
            ObservedNode(
                id: record.id, state: record.state, stateSince: record.stateSince, createdAt: record.createdAt,
                instanceID: record.instanceID, convictedAt: record.convictedAt,
                signals: signals(for: record, seen: tracker.snapshot(record.id), interval: group.spec.health.heartbeatInterval.value))
        }
        let plan = Reconciler.plan(.init(
            spec: group.spec, deleted: group.deleted, nodes: observed,
            instances: instances?.map { ObservedInstance(id: $0.id, nodeID: $0.nodeID, status: $0.status, launchedAt: $0.launchedAt) },
            now: now, orphanGrace: orphanGrace, hold: hold, previous: memory.withLock { $0.safety[key] }))
        let context = ActionContext(group: group, provider: provider, nodes: Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                                    logger: log)
        await record(plan, group: group, key: key, log: log)
        startPostReady(nodes, group: group)
        var acted = false
        for action in plan.actions {
            if await execute(action, context) { acted = true }
        }
        if group.deleted, plan.actions.isEmpty, nodes.allSatisfy({ $0.state.isFinal }) {
            do {
                try await store.purgeGroup(cluster: group.cluster, name: group.name)
                prober.forget(group: key)
                memory.withLock { $0.safety[key] = nil; $0.reasons[key] = nil }
                log.info("deleted group has no nodes left; removed")
            } catch {
                log.warning("cannot remove deleted group", metadata: ["error": "\(error)"])
            }
        }
        // Executed actions change state: look again soon rather than at the plan's idle deadline.
        return acted ? now.addingTimeInterval(0.2) : min(plan.nextCheck, now.addingTimeInterval(1))
    }

    /// Keeps the plan's verdicts and safety status for the API, and turns breaker and backoff changes into events.
    private func record(_ plan: Plan, group: GroupRecord, key: String, log: Logger) async {
        let previous = memory.withLock { m in
            let previous = m.safety[key]
            m.safety[key] = plan.safety
            m.reasons[key] = plan.reasons
            for (id, verdict) in plan.verdicts {
                m.verdicts[id] = verdict
                // The agent is back: a later silence may earn another restart.
                if verdict.kind == .healthy {
                    m.agentRestarts[id] = nil
                    if let last = tracker.lastHeartbeat(id) { m.lastWell[id] = last }
                }
            }
            return previous
        }
        var events: [(NodeEvent.Kind, String)] = []
        if previous?.breaker == nil, let breaker = plan.safety.breaker {
            log.critical("circuit breaker opened", metadata: ["reason": "\(breaker)"])
            events.append((.breakerOpened, "ALERT circuit breaker opened: \(breaker)"))
        } else if previous?.breaker != nil, plan.safety.breaker == nil {
            log.warning("circuit breaker closed")
            events.append((.breakerClosed, "circuit breaker closed: the group is back under maxUnhealthy \(group.spec.remediation.maxUnhealthyPercent)%"))
        }
        // One event per backoff: a new streak, or a backoff after none.
        if let until = plan.safety.backoffUntil, previous?.backoffUntil == nil || previous?.crashLoopStreak != plan.safety.crashLoopStreak {
            events.append((.crashLoopBackoff, "\(plan.safety.crashLoopStreak) node(s) in a row died within minUptime "
                + "\(group.spec.remediation.minUptime); next node created at \(until)"))
        }
        for (kind, reason) in events {
            do {
                try await store.appendEvent(NodeEvent(at: now(), cluster: group.cluster, group: group.name, nodeID: nil, kind: kind, reason: reason))
            } catch {
                log.error("cannot record event", metadata: ["kind": "\(kind.rawValue)", "error": "\(error)"])
            }
        }
    }

    /// One node's signals, except the provider's view (the plan adds it from the group's list).
    func signals(for record: NodeRecord, seen: HeartbeatTracker.Snapshot, interval: Double? = nil) -> HealthSignals {
        let (watchStart, restart) = memory.withLock { ($0.watchStart, $0.agentRestarts[record.id]) }
        // Silence counts from the last heartbeat, or from when this coordinator began watching: the node's
        // creation, or for older nodes the coordinator's start plus a grace in which agents reconnect.
        // An agent connected to another replica: its heartbeats reach this one through the store (flushed every
        // second), and its connection counts as open while they keep coming.
        var last = seen.last
        var connected = seen.connected
        if !seen.connected, let stored = record.lastHeartbeat, stored > (seen.last ?? .distantPast) {
            last = stored
            connected = now().timeIntervalSince(stored) < 3 * (interval ?? 1) + 1
        }
        return HealthSignals(lastHeartbeat: last, history: seen.connected ? seen.history : HeartbeatHistory(), watchedSince: max(record.createdAt, watchStart),
                             createdAt: record.createdAt, connected: connected, instance: nil,
                             probes: seen.probes, external: prober.results(record.id), agentRestartRequested: restart)
    }

    /// The latest verdict and the group's safety status, for `node get` and `group get`.
    public func verdict(nodeID: String) -> Verdict? { memory.withLock { $0.verdicts[nodeID] } }
    public func safety(cluster: String, group: String) -> (SafetyStatus?, [String]) {
        memory.withLock { ($0.safety["\(cluster)/\(group)"], $0.reasons["\(cluster)/\(group)"] ?? []) }
    }
    public func externalResults(nodeID: String) -> [ProbeResult] { prober.results(nodeID) }
    public func agentRestartRequested(nodeID: String) -> Date? { memory.withLock { $0.agentRestarts[nodeID] } }
}
