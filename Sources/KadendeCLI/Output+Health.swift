import Foundation
import KadendeAPI
import KadendeSupport
import KadendeWire

extension Output {
    static func safetyRows(_ safety: APISafety?) -> [[String]] {
        guard let s = safety else { return [["SAFETY", "not evaluated yet"]] }
        var rows = [["SAFETY", ""]]
        rows.append(["breaker", s.breaker.map { "OPEN: \($0)" } ?? "closed"])
        if let held = s.held { rows.append(["held", held]) }
        rows.append(["budget", "\(s.replacementsInWindow) of \(s.budget) replacements used in the last \(Clamp.wholeSeconds(s.budgetWindowSeconds))s"])
        rows.append(["crash loop", s.crashLoopStreak == 0 ? "none" : "\(s.crashLoopStreak) young deaths in a row"
            + (s.backoffUntil.map { "; next create at \(time($0))" } ?? "")])
        for reason in s.reasons { rows.append(["status", reason]) }
        return rows
    }

    static func nodeDetailRows(_ d: APINodeDetail) -> [[String]] {
        let h = d.heartbeats
        let fmt = { (x: Double) in String(format: "%.2f", x) }
        var rows: [[String]] = [
            ["NODE", d.node.id],
            ["group", "\(d.node.cluster)/\(d.node.group)"],
            ["state", "\(d.node.state.rawValue) since \(time(d.node.since)): \(d.node.reason)"],
            ["verdict", "\(d.verdict): \(d.verdictReason)"],
            ["instance", "\(d.node.instanceID ?? "-") at \(d.node.address ?? "-"); provider says \(d.provider)"],
            ["agent", d.connected ? "connected" : "not connected"],
            ["heartbeat", "last \(time(h.last)), silent \(fmt(h.silenceSeconds))s, φ \(fmt(h.phi)) (threshold \(fmt(h.phiThreshold)), "
                + "floor \(fmt(2 * h.intervalSeconds))s, ceiling \(fmt(h.ceilingSeconds))s)"],
            ["intervals", h.samples == 0 ? "none yet" : "mean \(fmt(h.meanIntervalSeconds ?? 0))s, σ \(fmt(h.deviationSeconds ?? 0))s over \(h.samples)"],
        ]
        if let restart = d.agentRestartRequested { rows.append(["agent restart", "requested at \(time(restart))"]) }
        if let convicted = d.convictedAt { rows.append(["convicted", time(convicted)]) }
        for p in d.probes { rows.append(["probe " + p.name, probe(p)]) }
        if d.probeViewStale { rows.append(["probes", "the agent's summary disagrees with the results received; waiting for a full set"]) }
        for p in d.external { rows.append(["external " + p.name, probe(p)]) }
        for e in d.events { rows.append(["event", "\(time(e.at)) \(e.kind.rawValue): \(e.reason)"]) }
        return rows
    }

    static func probe(_ p: ProbeResult) -> String {
        "\(p.status.rawValue)" + (p.since.map { " since \(time($0))" } ?? "") + (p.output.map { ": \($0)" } ?? "")
    }
}
