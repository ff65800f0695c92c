import KadendeHealth
import KadendeHTTP
import KadendeModel
import KadendeStore

/// `/metrics` in the Prometheus text format (swift-prometheus): the counters and histograms the coordinator keeps
/// as things happen, and gauges of the fleet's state read now.
extension CoordinatorAPI {
    func metrics() async throws(APIError) -> String {
        // Every cluster's groups are in it: admins (or a scraper's admin-issued token) only.
        try await requireAdmin("read metrics")
        let groups = try await call { try await store.groups(cluster: nil) }
        let active = Dictionary(try await call { try await store.activeRollouts() }.map { ("\($0.cluster)/\($0.group)", $0) },
                                uniquingKeysWith: { a, b in a.id > b.id ? a : b })
        let reconciler = coordinator.reconciler
        var scrape = CoordinatorMetrics.Scrape()
        for group in groups {
            // Cluster and group names are resource names (lowercase letters, digits, '-'): nothing to escape.
            let labels = [("cluster", group.cluster), ("group", group.name)]
            let records = try await call { try await store.nodes(cluster: group.cluster, group: group.name) }.filter { !$0.state.isFinal }
            var states: [NodeState: Int] = [:]
            var verdicts: [String: Int] = [:]
            for record in records {
                states[record.state, default: 0] += 1
                if let verdict = reconciler.verdict(nodeID: record.id) { verdicts[verdict.kind.rawValue, default: 0] += 1 }
            }
            for state in NodeState.allCases where !state.isFinal {
                scrape.add("kadende_nodes", "Live nodes by group and state.", labels + [("state", state.rawValue)], Double(states[state] ?? 0))
            }
            for kind in Verdict.Kind.allCases {
                scrape.add("kadende_node_verdicts", "Nodes by the health judge's latest verdict.", labels + [("verdict", kind.rawValue)],
                           Double(verdicts[kind.rawValue] ?? 0))
            }
            scrape.add("kadende_group_desired_nodes", "The group's size.desired.", labels, Double(group.spec.size.desired))
            let (safety, _) = reconciler.safety(cluster: group.cluster, group: group.name)
            scrape.add("kadende_group_breaker_open", "1 while the group's circuit breaker is open: replacing stopped, alert raised.",
                       labels, safety?.breaker == nil ? 0 : 1)
            scrape.add("kadende_group_replacements_in_window", "Replacements in the group's budget window.", labels,
                       Double(safety?.replacementsInWindow ?? 0))
            scrape.add("kadende_group_crash_loop_streak", "Nodes of the group that died young in a row.", labels, Double(safety?.crashLoopStreak ?? 0))
            // Rollout progress: nodes of the active rollout by phase (none when no rollout is active).
            if let rollout = active["\(group.cluster)/\(group.name)"], let plan = coordinator.rollouts.plan(rolloutID: rollout.id) {
                let p = plan.progress
                for (phase, n) in [("targeted", p.targeted), ("done", p.done), ("applying", p.applying), ("baking", p.baking),
                                   ("failed", p.failed), ("pending", p.pending)] {
                    scrape.add("kadende_rollout_nodes", "Nodes of the group's active configuration rollout by phase.",
                               labels + [("revision", "\(rollout.revision)"), ("phase", phase)], Double(n))
                }
            }
        }
        let held = reconciler.memory.withLock { $0.hold } == nil ? 0.0 : 1
        scrape.add("kadende_convictions_held", "1 while the coordinator holds every conviction (start-up grace, failed self-check).", [], held)
        scrape.add("kadende_agents_connected", "Agents with an open connection to this coordinator.", [], Double(coordinator.tracker.connectedCount))
        return coordinator.metrics.publish(scrape)
    }
}
