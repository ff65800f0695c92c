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
        /// Every node of the group the store holds, finished ones included (they carry the group's history of
        /// deaths, which the replacement budget and the crash-loop backoff read).
        public var nodes: [ObservedNode]
        /// The provider's tagged list for this group, or nil when the provider did not answer.
        public var instances: [ObservedInstance]?
        public var now: Date
        /// How long an instance tagged for this group but unknown to the store may live before it is destroyed
        /// (another coordinator may just have created it, or a create may still be returning).
        public var orphanGrace: Double
        /// Why no one may be convicted at all right now (the coordinator's start-up grace, a failed self-check).
        public var hold: String?
        /// The previous pass's safety status (the breaker's state carries over).
        public var previous: SafetyStatus?

        public init(spec: GroupSpec, deleted: Bool, nodes: [ObservedNode], instances: [ObservedInstance]?, now: Date,
                    orphanGrace: Double = 120, hold: String? = nil, previous: SafetyStatus? = nil) {
            self.spec = spec
            self.deleted = deleted
            self.nodes = nodes
            self.instances = instances
            self.now = now
            self.orphanGrace = orphanGrace
            self.hold = hold
            self.previous = previous
        }
    }

    public static func plan(_ input: Input) -> Plan {
        let now = input.now
        let policy = input.spec.health
        let rules = input.spec.remediation
        var actions: [Action] = []
        var reasons: [String] = []
        var wakeups: [Date] = [now.addingTimeInterval(10)]
        var verdicts: [String: Verdict] = [:]
        var safety = SafetyStatus(held: input.hold, budget: rules.budget)
        let instanceByNode = Dictionary(
            (input.instances ?? []).compactMap { i in i.nodeID.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        var active: [ObservedNode] = []
        var convictions: [(node: ObservedNode, verdict: Verdict)] = []
        var held: [ObservedNode] = []  // already unhealthy, kept for a surge
        let desired = input.deleted ? 0 : input.spec.size.desired
        let healthyCount = input.nodes.filter { $0.state == .healthy }.count

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
                // With a surge allowed, a convicted node keeps serving until its replacement is healthy.
                if rules.maxSurge > held.count, healthyCount < desired, !input.deleted,
                   now.timeIntervalSince(node.stateSince) < policy.startupTimeout.value,
                   signals.instance != .terminated, !signals.instanceMissing {
                    held.append(node)
                    wakeups.append(node.stateSince.addingTimeInterval(policy.startupTimeout.value + 0.01))
                } else {
                    actions.append(.replace(nodeID: node.id, reason: "convicted earlier; finishing its replacement"))
                }
            case .requested, .provisioning, .enrolling:
                let age = now.timeIntervalSince(node.createdAt)
                if age > policy.startupTimeout.value {
                    actions.append(.fail(nodeID: node.id, reason: "did not enrol within the startup timeout \(policy.startupTimeout)"))
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
                verdicts[node.id] = verdict
                if verdict.convicts {
                    convictions.append((node, verdict))
                    continue
                }
                switch verdict.kind {
                case .suspect:
                    if node.state == .healthy { actions.append(.transition(nodeID: node.id, to: .suspect, reason: verdict.reason)) }
                    if verdict.remedy == .restartAgent, signals.agentRestartRequested == nil {
                        actions.append(.restartAgent(nodeID: node.id, reason: verdict.reason))
                    }
                default:
                    if node.state == .suspect { actions.append(.transition(nodeID: node.id, to: .healthy, reason: verdict.reason)) }
                }
                wakeups.append(contentsOf: heartbeatWakeups(signals, policy: policy, now: now))
                active.append(node)
            }
        }

        // Safety before any conviction is carried out.
        let population = input.nodes.filter { [.healthy, .suspect, .unhealthy].contains($0.state) }.count
        let sick = convictions.filter { !$0.verdict.providerConfirmed }.count + input.nodes.filter { $0.state == .unhealthy }.count
        // One sick node is never mass death: the breaker needs two at least, or a group of one could never heal.
        if sick >= 2, sick * 100 > rules.maxUnhealthyPercent * population {
            safety.breakerOpenedAt = input.previous?.breakerOpenedAt ?? now
            safety.breaker = "\(sick) of \(population) nodes unhealthy at once, above maxUnhealthy \(rules.maxUnhealthyPercent)%: "
                + "replacing stops (a partition of the coordinator looks like mass death)"
        } else if let opened = input.previous?.breakerOpenedAt {
            // Back under the limit: stay open until the group has been calm for the settle time.
            let calm = input.previous?.breakerCalmSince ?? now
            if now.timeIntervalSince(calm) < rules.breakerSettle.value {
                safety.breakerOpenedAt = opened
                safety.breakerCalmSince = calm
                safety.breaker = "\(sick) of \(population) nodes unhealthy, back under maxUnhealthy \(rules.maxUnhealthyPercent)%; "
                    + "closing after \(rules.breakerSettle) of calm, while nodes cut off come back"
                wakeups.append(calm.addingTimeInterval(rules.breakerSettle.value + 0.01))
            }
        }
        let window = now.addingTimeInterval(-rules.budgetWindow.value)
        let spent = input.nodes.compactMap(\.convictedAt).filter { $0 > window }.sorted()
        safety.replacementsInWindow = spent.count
        var budgetLeft = rules.budget - spent.count
        for (node, verdict) in convictions {
            let hold: String?
            if let coordinatorHold = input.hold {
                hold = coordinatorHold
            } else if let breaker = safety.breaker, !verdict.providerConfirmed {
                hold = "circuit breaker open: \(breaker)"
            } else if budgetLeft <= 0 {
                let next = spent.first.map { $0.addingTimeInterval(rules.budgetWindow.value) } ?? now
                hold = "replacement budget spent: \(spent.count) in the last \(rules.budgetWindow) (budget \(rules.budget)); next allowed at \(next)"
                wakeups.append(next.addingTimeInterval(0.01))
            } else {
                hold = nil
            }
            if let hold {
                // Held nodes keep counting towards the size: nothing is created in their place either.
                actions.append(.hold(nodeID: node.id, reason: "would convict (\(verdict.reason)); held: \(hold)"))
                if node.state == .healthy { actions.append(.transition(nodeID: node.id, to: .suspect, reason: verdict.reason)) }
                wakeups.append(now.addingTimeInterval(1))
                active.append(node)
                continue
            }
            budgetLeft -= 1
            if verdict.kind == .unhealthy, rules.maxSurge > held.count, !input.deleted {
                actions.append(.convict(nodeID: node.id, reason: verdict.reason))
                held.append(node)
            } else {
                actions.append(.replace(nodeID: node.id, reason: verdict.reason))
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

        // Nodes convicted or failed in this very pass are deaths too: their replacement waits like any other.
        let dyingNow = Set(actions.compactMap { action -> String? in
            switch action {
            case .replace(let id, _), .convict(let id, _), .fail(let id, _): id
            default: nil
            }
        })
        let history = input.nodes.map { node -> ObservedNode in
            guard dyingNow.contains(node.id), node.diedAt == nil else { return node }
            var dying = node
            dying.convictedAt = now
            return dying
        }
        let (streak, lastDeath) = crashLoop(history, rules: rules, now: now)
        safety.crashLoopStreak = streak
        if active.count < desired {
            let missing = desired - active.count
            // The first young death is replaced at once (it may be bad luck); each further one in a row doubles
            // the wait.
            if streak > 1, let lastDeath {
                let delay = min(rules.backoff.value * pow2(streak - 2), rules.maxBackoff.value)
                let until = lastDeath.addingTimeInterval(delay)
                if until > now {
                    safety.backoffUntil = until
                    wakeups.append(until.addingTimeInterval(0.01))
                    reasons.append("crash-loop backoff: \(streak) node(s) in a row died within minUptime \(rules.minUptime); "
                        + "waiting \(Seconds(delay)) before creating \(missing)")
                }
            }
            if safety.backoffUntil == nil {
                actions.append(.create(count: missing, reason: "\(active.count) of \(desired) nodes active; creating \(missing)"))
                reasons.append("scaling up: \(active.count) active, \(desired) desired")
            }
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
        if let breaker = safety.breaker { reasons.append("circuit breaker open: \(breaker)") }
        if let hold = input.hold { reasons.append("convictions held: \(hold)") }
        if input.instances == nil { reasons.append("provider did not answer; provisioning decisions wait for it") }

        let next = wakeups.filter { $0 > now }.min() ?? now.addingTimeInterval(1)
        return Plan(actions: actions, reasons: reasons, nextCheck: next, safety: safety, verdicts: verdicts)
    }

    /// When the verdict of a node that speaks could next change: when a heartbeat would be late, and at the
    /// ceiling.
    static func heartbeatWakeups(_ signals: HealthSignals, policy: GroupSpec.HealthPolicy, now: Date) -> [Date] {
        let interval = policy.heartbeatInterval.value
        let since = max(signals.lastHeartbeat ?? signals.watchedSince, signals.watchedSince)
        var wakeups = [since.addingTimeInterval(2 * interval + 0.01), since.addingTimeInterval(policy.heartbeatTimeout.value + 0.01)]
        // Once a heartbeat is overdue, φ may cross its threshold at any moment: look often, so detection is not
        // delayed by the idle pace of the loop.
        if now.timeIntervalSince(since) > interval { wakeups.append(now.addingTimeInterval(min(0.1, interval / 5))) }
        return wakeups
    }

    /// How many of the group's most recent deaths in a row came within `minUptime` of the node's creation, and
    /// when the last one was. A node that has lived past `minUptime` since then ends the streak.
    static func crashLoop(_ nodes: [ObservedNode], rules: GroupSpec.Remediation, now: Date) -> (Int, Date?) {
        let deaths = nodes.compactMap { node in node.diedAt.map { (node, $0) } }.sorted { $0.1 > $1.1 }
        guard let last = deaths.first?.1 else { return (0, nil) }
        let survivor = nodes.contains { node in
            node.diedAt == nil && !node.state.isFinal && !node.state.isStarting
                && node.createdAt > last.addingTimeInterval(-rules.minUptime.value)
                && now.timeIntervalSince(node.createdAt) >= rules.minUptime.value
        }
        if survivor { return (0, nil) }
        var streak = 0
        for (node, died) in deaths {
            guard died.timeIntervalSince(node.createdAt) < rules.minUptime.value else { break }
            streak += 1
        }
        return (streak, last)
    }

    static func pow2(_ n: Int) -> Double { Double(1 << min(max(n, 0), 30)) }
}
