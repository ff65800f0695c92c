import KadendeHealth
import KadendeModel
import struct Foundation.Date

/// Level-triggered planning for one group: from the desired spec, what the store and the provider show, and
/// `now`, decide what to do and when to look again. No I/O: the loop that executes the plan records intent in
/// the store before every provider call.
public enum Reconciler {
    public struct Input: Sendable {
        public var spec: GroupSpec
        public var deleted: Bool
        /// Nodes of the group that are not in a final state, plus final ones whose instance may linger.
        public var nodes: [ObservedNode]
        /// The provider's tagged list for this group, or nil when the provider did not answer.
        public var instances: [ObservedInstance]?
        public var now: Date
        /// How long an instance tagged for this group but unknown to the store may live before it is destroyed
        /// (another coordinator may just have created it, or a create may still be returning).
        public var orphanGrace: Double

        public init(spec: GroupSpec, deleted: Bool, nodes: [ObservedNode], instances: [ObservedInstance]?, now: Date, orphanGrace: Double = 120) {
            self.spec = spec
            self.deleted = deleted
            self.nodes = nodes
            self.instances = instances
            self.now = now
            self.orphanGrace = orphanGrace
        }
    }

    public static func plan(_ input: Input) -> Plan {
        let now = input.now
        let policy = input.spec.health
        var actions: [Action] = []
        var reasons: [String] = []
        var wakeups: [Date] = [now.addingTimeInterval(10)]
        let instanceByNode = Dictionary(
            (input.instances ?? []).compactMap { i in i.nodeID.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        var active: [ObservedNode] = []

        for node in input.nodes {
            var signals = node.signals
            if input.instances != nil {
                let instance = instanceByNode[node.id]
                signals.instance = instance?.status
                signals.instanceMissing = node.instanceID != nil && instance == nil
            }
            switch node.state {
            case .terminated, .failed:
                continue
            case .terminating:
                actions.append(.finishTermination(nodeID: node.id))
            case .unhealthy:
                actions.append(.replace(nodeID: node.id, reason: "convicted earlier; finishing its replacement"))
            case .requested, .provisioning, .enrolling:
                let age = now.timeIntervalSince(node.createdAt)
                if age > policy.startupTimeout.value {
                    actions.append(.fail(nodeID: node.id, reason: "did not enrol and report within the startup timeout \(policy.startupTimeout)"))
                    continue
                }
                wakeups.append(node.createdAt.addingTimeInterval(policy.startupTimeout.value + 0.01))
                if node.instanceID == nil {
                    if let instance = instanceByNode[node.id] {
                        actions.append(.adopt(nodeID: node.id, instanceID: instance.id))
                    } else if input.instances != nil, node.state != .enrolling {
                        actions.append(.provision(nodeID: node.id, reason: node.state == .requested
                            ? "intent recorded; creating its machine" : "no instance found by tag; creating again (idempotent on the node id)"))
                    }
                } else if signals.instanceMissing || signals.instance == .terminated {
                    actions.append(.fail(nodeID: node.id, reason: "its instance disappeared before it enrolled"))
                    continue
                }
                active.append(node)
            case .healthy, .suspect:
                let verdict = HealthJudge.judge(signals, policy: policy, now: now)
                switch verdict.kind {
                case .dead, .unhealthy:
                    actions.append(.replace(nodeID: node.id, reason: verdict.reason))
                    continue
                case .suspect:
                    if node.state == .healthy { actions.append(.transition(nodeID: node.id, to: .suspect, reason: verdict.reason)) }
                case .healthy:
                    if node.state == .suspect { actions.append(.transition(nodeID: node.id, to: .healthy, reason: verdict.reason)) }
                }
                let since = max(signals.lastHeartbeat ?? signals.watchedSince, signals.watchedSince)
                wakeups.append(since.addingTimeInterval(2 * policy.heartbeatInterval.value + 0.01))
                wakeups.append(since.addingTimeInterval(policy.heartbeatTimeout.value + 0.01))
                active.append(node)
            }
        }

        // Instances that no live node explains.
        let liveIDs = Set(input.nodes.filter { !$0.state.isFinal }.map(\.id))
        let knownIDs = Set(input.nodes.map(\.id))
        for instance in input.instances ?? [] where instance.status != .terminated {
            guard let nodeID = instance.nodeID else { continue }  // never touch an instance without our tags
            if liveIDs.contains(nodeID) { continue }
            if knownIDs.contains(nodeID) {
                actions.append(.destroyOrphan(instanceID: instance.id, reason: "node \(nodeID) is finished but its instance still exists"))
            } else if let launched = instance.launchedAt, now.timeIntervalSince(launched) > input.orphanGrace {
                actions.append(.destroyOrphan(instanceID: instance.id, reason: "tagged for this group but no node \(nodeID) is recorded"))
            } else {
                wakeups.append((instance.launchedAt ?? now).addingTimeInterval(input.orphanGrace + 0.01))
            }
        }

        let desired = input.deleted ? 0 : input.spec.size.desired
        if active.count < desired {
            let missing = desired - active.count
            actions.append(.create(count: missing, reason: "\(active.count) of \(desired) nodes active; creating \(missing)"))
            reasons.append("scaling up: \(active.count) active, \(desired) desired")
        } else if active.count > desired {
            // Shed the nodes that give least: not yet started, then suspect, then the newest healthy ones.
            let rank: (ObservedNode) -> Int = { $0.state.isStarting ? 0 : ($0.state == .suspect ? 1 : 2) }
            let victims = active.sorted { a, b in
                rank(a) != rank(b) ? rank(a) < rank(b) : a.createdAt > b.createdAt
            }.prefix(active.count - desired)
            let why = input.deleted ? "group deleted" : "scaling down to \(desired)"
            for victim in victims { actions.append(.terminate(nodeID: victim.id, reason: why)) }
            reasons.append("\(why): \(active.count) active")
        } else {
            reasons.append("\(active.count) of \(desired) nodes active")
        }
        if input.instances == nil { reasons.append("provider did not answer; provisioning decisions wait for it") }

        let next = wakeups.filter { $0 > now }.min() ?? now.addingTimeInterval(1)
        return Plan(actions: actions, reasons: reasons, nextCheck: next)
    }
}
