import KadendeModel
import KadendeStore
import KadendeWire
import struct Foundation.Date

/// Decides the next step of one rollout from what the store and the health judge say, with no I/O: which nodes
/// get the revision now, which failed, whether to roll back, and when to look again. The loop that runs it
/// records every decision before acting on it, so a coordinator restart resumes where the store says.
public enum RolloutPlanner {
    /// One node of the rollout's group, as the planner needs it.
    public struct NodeView: Sendable, Hashable {
        public var id: String
        public var state: NodeState
        public var labels: [String: String]
        /// Healthy by its state and by the judge's latest verdict.
        public var healthy: Bool
        public var healthReason: String
        public var config: NodeConfigRecord?

        public init(id: String, state: NodeState, labels: [String: String] = [:], healthy: Bool, healthReason: String = "",
                    config: NodeConfigRecord?) {
            self.id = id
            self.state = state
            self.labels = labels
            self.healthy = healthy
            self.healthReason = healthReason
            self.config = config
        }

        /// Enrolled and not on its way out: a node a rollout changes.
        var isServing: Bool { state == .healthy || state == .suspect || state == .unhealthy }
    }

    public enum NodeStatus: Sendable, Hashable {
        case pending
        case applying(since: Date?)
        case baking(until: Date)
        case done
        case failed(String)
    }

    public struct Progress: Sendable, Hashable, Codable {
        public var targeted = 0
        public var done = 0
        public var applying = 0
        public var baking = 0
        public var failed = 0
        public var pending = 0
        public init() {}
    }

    public enum Decision: Sendable, Hashable {
        /// Set these nodes' desired revision and send it to them.
        case push([String], revision: Int, reason: String)
        /// A node failed the rollout (reported once by the loop).
        case nodeFailed(String, reason: String)
        /// The rollout moves to another state.
        case transition(RolloutState, reason: String)
    }

    public struct Plan: Sendable, Hashable {
        public var decisions: [Decision] = []
        /// Why the rollout is where it is, for `config status`.
        public var status: String = ""
        public var progress = Progress()
        public var nextCheck: Date?
        public var statuses: [String: NodeStatus] = [:]
    }

    public static func plan(_ rollout: RolloutRecord, nodes: [NodeView], now: Date) -> Plan {
        switch rollout.state {
        case .rollingBack: return planRollback(rollout, nodes: nodes, now: now)
        case .running, .paused: return planForward(rollout, nodes: nodes, now: now)
        case .succeeded, .failed, .rolledBack, .aborted: return Plan(status: rollout.reason)
        }
    }

    /// Where a node stands with respect to `revision` pushed by `rollout`.
    static func status(of node: NodeView, revision: Int, rollout: RolloutRecord, bake: Double, now: Date) -> NodeStatus {
        guard let config = node.config, config.desired == revision else { return .pending }
        let ours = config.rollout == rollout.id
        if let reported = config.reported, reported.revision == revision {
            switch reported.outcome {
            case .applied:
                let at = config.reportedAt ?? now
                if ours, now < at.addingTimeInterval(bake) { return .baking(until: at.addingTimeInterval(bake)) }
                return .done
            case .failed:
                // A failure from before this rollout pushed again is history, not this rollout's result.
                if ours, let pushed = config.pushedAt, let at = config.reportedAt, at < pushed { break }
                return .failed(reported.message ?? "failed")
            case .applying: break
            }
        }
        if ours, let pushed = config.pushedAt, now >= pushed.addingTimeInterval(rollout.policy.applyTimeout.value) {
            return .failed("no acknowledgement within the apply timeout \(rollout.policy.applyTimeout)")
        }
        return .applying(since: config.pushedAt)
    }

    private static func planForward(_ rollout: RolloutRecord, nodes: [NodeView], now: Date) -> Plan {
        var plan = Plan()
        let policy = rollout.policy
        let bake = policy.bake.value
        var pendingHealthy: [String] = []
        var failures: [(String, String)] = []
        var inFlight = 0
        var lastDone: Date?
        var unavailable = 0
        var wake: [Date] = []
        for node in nodes.sorted(by: { $0.id < $1.id }) where rollout.target.matches(nodeID: node.id, labels: node.labels) {
            var status = status(of: node, revision: rollout.revision, rollout: rollout, bake: bake, now: now)
            let ours = node.config?.rollout == rollout.id && node.config?.desired == rollout.revision
            if !node.isServing {
                // Gone or going while this rollout had it in hand: that counts against the revision.
                if ours, !node.state.isStarting, status != .done {
                    failures.append((node.id, "node became \(node.state.rawValue) during the rollout"))
                    plan.statuses[node.id] = .failed("node became \(node.state.rawValue)")
                }
                continue
            }
            if ours, !node.healthy, case .baking = status {
                status = .failed("went \(node.state.rawValue) while baking: \(node.healthReason)")
            } else if ours, node.state == .unhealthy, case .applying = status {
                status = .failed("went unhealthy while applying: \(node.healthReason)")
            }
            plan.statuses[node.id] = status
            plan.progress.targeted += 1
            if !node.healthy { unavailable += 1 }
            switch status {
            case .pending:
                plan.progress.pending += 1
                if node.healthy { pendingHealthy.append(node.id) }
            case .applying(let since):
                plan.progress.applying += 1
                inFlight += 1
                if let since { wake.append(since.addingTimeInterval(policy.applyTimeout.value)) }
            case .baking(let until):
                plan.progress.baking += 1
                inFlight += 1
                wake.append(until)
            case .done:
                plan.progress.done += 1
                if ours, let at = node.config?.reportedAt {
                    let end = at.addingTimeInterval(bake)
                    lastDone = max(lastDone ?? end, end)
                }
            case .failed(let reason):
                plan.progress.failed += 1
                failures.append((node.id, reason))
            }
        }
        plan.decisions += failures.map { .nodeFailed($0.0, reason: $0.1) }
        if failures.count > policy.maxFailures {
            let shown = failures.prefix(3).map { "\($0.0): \($0.1.prefix(200))" }.joined(separator: "; ")
            let why = "\(failures.count) node(s) failed (maxFailures \(policy.maxFailures)): \(shown)"
            let touched = nodes.filter { $0.config?.rollout == rollout.id && $0.config?.desired == rollout.revision && !$0.state.isFinal }
                .map(\.id).sorted()
            if policy.autoRollback, let previous = rollout.previous, previous != rollout.revision {
                plan.decisions.append(.transition(.rollingBack, reason: "rolling back to revision \(previous): \(why)"))
                if !touched.isEmpty {
                    plan.decisions.append(.push(touched, revision: previous, reason: "rollback to revision \(previous)"))
                }
                plan.status = "rolling back to revision \(previous)"
            } else {
                let rest = rollout.previous == nil ? "no earlier revision to roll back to" : "automatic rollback is off"
                plan.decisions.append(.transition(.failed, reason: "stopped: \(why); \(rest)"))
                plan.status = "failed"
            }
            return plan
        }
        if inFlight > 0 {
            plan.status = "\(inFlight) node(s) applying or baking"
            plan.nextCheck = wake.min()
            return plan
        }
        if plan.progress.pending == 0 {
            plan.decisions.append(.transition(.succeeded, reason: "revision \(rollout.revision) applied on \(plan.progress.done) node(s)"
                                              + (failures.isEmpty ? "" : ", \(failures.count) failed within maxFailures")))
            plan.status = "succeeded"
            return plan
        }
        guard rollout.state == .running else {
            plan.status = "paused with \(plan.progress.pending) node(s) to go"
            return plan
        }
        if let lastDone, now < lastDone.addingTimeInterval(policy.pause.value) {
            plan.status = "pausing between batches"
            plan.nextCheck = lastDone.addingTimeInterval(policy.pause.value)
            return plan
        }
        let total = plan.progress.targeted
        let size: Int
        switch policy.strategy {
        case .allAtOnce: size = pendingHealthy.count
        case .rolling: size = min(policy.batch.resolve(of: total), policy.maxUnavailable.resolve(of: total) - unavailable)
        }
        guard size > 0, !pendingHealthy.isEmpty else {
            plan.status = pendingHealthy.isEmpty
                ? "waiting for \(plan.progress.pending) pending node(s) to be healthy"
                : "waiting: \(unavailable) node(s) unavailable (maxUnavailable \(policy.maxUnavailable))"
            return plan
        }
        let batch = Array(pendingHealthy.prefix(size))
        plan.decisions.append(.push(batch, revision: rollout.revision,
                                    reason: "batch of \(batch.count): \(plan.progress.done) of \(total) done, \(plan.progress.pending - batch.count) to go after it"))
        plan.status = "applying a batch of \(batch.count)"
        return plan
    }

    private static func planRollback(_ rollout: RolloutRecord, nodes: [NodeView], now: Date) -> Plan {
        var plan = Plan()
        guard let previous = rollout.previous else {
            plan.decisions.append(.transition(.failed, reason: "no earlier revision to roll back to"))
            return plan
        }
        var waiting = 0
        var failed: [String] = []
        var wake: [Date] = []
        for node in nodes where node.config?.rollout == rollout.id && node.config?.desired == previous && node.isServing {
            let status = status(of: node, revision: previous, rollout: rollout, bake: 0, now: now)
            plan.statuses[node.id] = status
            plan.progress.targeted += 1
            switch status {
            case .done: plan.progress.done += 1
            case .failed(let reason):
                plan.progress.failed += 1
                failed.append("\(node.id): \(reason.prefix(200))")
            case .applying(let since):
                plan.progress.applying += 1
                waiting += 1
                if let since { wake.append(since.addingTimeInterval(rollout.policy.applyTimeout.value)) }
            case .pending, .baking: waiting += 1
            }
        }
        if waiting > 0 {
            plan.status = "rolling back: \(waiting) node(s) to go"
            plan.nextCheck = wake.min()
            return plan
        }
        let summary = "\(rollout.reason.replacingOccurrences(of: "rolling back to", with: "rolled back to")); \(plan.progress.done) node(s) back on revision \(previous)"
        plan.decisions.append(.transition(.rolledBack, reason: failed.isEmpty ? summary : summary + "; rollback failed on " + failed.joined(separator: "; ")))
        plan.status = "rolled back"
        return plan
    }
}

import Foundation
