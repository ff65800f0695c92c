import KadendeHTTP
import KadendeModel
import KadendeStore

/// A few gauges in the Prometheus text format, for alerting on the safety rules; the full metric set (histograms,
/// provider calls) comes with swift-prometheus.
extension CoordinatorAPI {
    func metrics() async throws(APIError) -> String {
        // Every cluster's groups are in it: admins (or a scraper's admin-issued token) only.
        try await requireAdmin("read metrics")
        let groups = try await call { try await store.groups(cluster: nil) }
        var nodes: [String] = []
        var breaker: [String] = []
        var budget: [String] = []
        var streak: [String] = []
        for group in groups {
            // Cluster and group names are resource names (lowercase letters, digits, '-'): nothing to escape.
            let labels = "cluster=\"\(group.cluster)\",group=\"\(group.name)\""
            let records = try await call { try await store.nodes(cluster: group.cluster, group: group.name) }
            var counts: [NodeState: Int] = [:]
            for record in records where !record.state.isFinal { counts[record.state, default: 0] += 1 }
            for state in NodeState.allCases where !state.isFinal {
                nodes.append("kadende_nodes{\(labels),state=\"\(state.rawValue)\"} \(counts[state] ?? 0)")
            }
            let (safety, _) = coordinator.reconciler.safety(cluster: group.cluster, group: group.name)
            breaker.append("kadende_group_breaker_open{\(labels)} \(safety?.breaker == nil ? 0 : 1)")
            budget.append("kadende_group_replacements_in_window{\(labels)} \(safety?.replacementsInWindow ?? 0)")
            streak.append("kadende_group_crash_loop_streak{\(labels)} \(safety?.crashLoopStreak ?? 0)")
        }
        let held = coordinator.reconciler.memory.withLock { $0.hold } == nil ? 0 : 1
        let sections: [(String, String, [String])] = [
            ("kadende_nodes", "Live nodes by group and state.", nodes),
            ("kadende_group_breaker_open", "1 while the group's circuit breaker is open: replacing stopped, alert raised.", breaker),
            ("kadende_group_replacements_in_window", "Replacements in the group's budget window.", budget),
            ("kadende_group_crash_loop_streak", "Nodes of the group that died young in a row.", streak),
            ("kadende_convictions_held", "1 while the coordinator holds every conviction (start-up grace, failed self-check).",
             ["kadende_convictions_held \(held)"]),
            ("kadende_agents_connected", "Agents with an open connection to this coordinator.",
             ["kadende_agents_connected \(coordinator.tracker.connectedCount)"]),
        ]
        return sections.map { name, help, lines in
            (["# HELP \(name) \(help)", "# TYPE \(name) gauge"] + lines).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }
}
