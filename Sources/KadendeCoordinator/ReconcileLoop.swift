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

    let store: any Store
    let providers: ProviderRegistry
    let tracker: HeartbeatTracker
    let gateway: AgentGateway
    let enrolment: Enrolment
    let restartGrace: Double
    let orphanGrace: Double
    let now: @Sendable () -> Date
    let logger: Logger
    let startedAt: Date
    private let woken = Atomic<Bool>(false)

    init(store: any Store, providers: ProviderRegistry, tracker: HeartbeatTracker, gateway: AgentGateway, enrolment: Enrolment,
         restartGrace: Double, orphanGrace: Double, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.store = store
        self.providers = providers
        self.tracker = tracker
        self.gateway = gateway
        self.enrolment = enrolment
        self.restartGrace = restartGrace
        self.orphanGrace = orphanGrace
        self.now = now
        self.logger = logger
        self.startedAt = now()
    }

    /// Asks for a pass as soon as possible (after an apply or delete).
    public func wake() { woken.store(true, ordering: .relaxed) }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let next = await reconcileAll()
            // Short ticks keep a wake-up prompt without a second channel; the plan says when work is due.
            while now() < next && !woken.exchange(false, ordering: .relaxed) {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }
                } catch {
                    return
                }
            }
        }
    }

    /// One pass over every group; returns when the next pass is due.
    @discardableResult
    public func reconcileAll() async -> Date {
        var next = now().addingTimeInterval(5)
        do {
            try await store.recordHeartbeats(tracker.drainDirty())
            for group in try await store.groups(cluster: nil) {
                next = min(next, await reconcile(group))
            }
        } catch {
            logger.error("reconcile pass failed", metadata: ["error": "\(error)"])
            next = now().addingTimeInterval(1)
        }
        return next
    }

    func reconcile(_ group: GroupRecord) async -> Date {
        var log = logger
        log[metadataKey: "group.id"] = "\(group.cluster)/\(group.name)"
        let provider: any Provider
        do {
            provider = try providers.provider(named: group.spec.provider)
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
        let now = self.now()
        let observed = nodes.map { record in
            // Silence counts from the last heartbeat, or from when this coordinator began watching: the node's
            // creation, or for nodes older than this coordinator's start, the start plus a grace in which agents
            // reconnect.
            let watchedSince = record.createdAt > startedAt ? record.createdAt : startedAt.addingTimeInterval(restartGrace)
            return ObservedNode(
                id: record.id, state: record.state, stateSince: record.stateSince, createdAt: record.createdAt,
                instanceID: record.instanceID,
                signals: HealthSignals(lastHeartbeat: tracker.lastHeartbeat(record.id), watchedSince: watchedSince, instance: nil))
        }
        let plan = Reconciler.plan(.init(
            spec: group.spec, deleted: group.deleted, nodes: observed,
            instances: instances?.map { ObservedInstance(id: $0.id, nodeID: $0.nodeID, status: $0.status, launchedAt: $0.launchedAt) },
            now: now, orphanGrace: orphanGrace))
        let context = ActionContext(group: group, provider: provider, nodes: Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                                    logger: log)
        for action in plan.actions {
            await execute(action, context)
        }
        if group.deleted, plan.actions.isEmpty, nodes.allSatisfy({ $0.state.isFinal }) {
            do {
                try await store.purgeGroup(cluster: group.cluster, name: group.name)
                log.info("deleted group has no nodes left; removed")
            } catch {
                log.warning("cannot remove deleted group", metadata: ["error": "\(error)"])
            }
        }
        // Executed actions change state: look again soon rather than at the plan's idle deadline.
        return plan.actions.isEmpty ? plan.nextCheck : now.addingTimeInterval(0.2)
    }
}
