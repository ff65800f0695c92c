import KadendeModel
import KadendeProbes
import KadendeWire
import Logging
import ServiceLifecycle
import Synchronization
import struct Foundation.Date

/// The coordinator's own probes against nodes' addresses, each on its schedule, with a bound on checks in
/// flight so a large fleet, or a partition that makes every check wait for its timeout, cannot exhaust the
/// coordinator. The reconcile loop says which nodes to watch and reads the results.
final class ExternalProber: Service, Sendable {
    private struct Target {
        var group: String
        var address: String
        var probe: GroupSpec.ExternalProbe
        var counter: ProbeCounter
        var due: Date
        var inFlight = false
    }

    private struct State {
        /// nodeID → probe name → target.
        var targets: [String: [String: Target]] = [:]
        var inFlight = 0
        /// The most checks ever in flight at once.
        var highWater = 0
    }

    private let state = Mutex(State())
    let maxInFlight: Int
    let now: @Sendable () -> Date
    let logger: Logger

    /// The most checks that were ever in flight at once.
    var inFlightHighWater: Int { state.withLock { $0.highWater } }

    init(maxInFlight: Int = 256, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.maxInFlight = maxInFlight
        self.now = now
        self.logger = logger
    }

    /// Replaces the watched nodes of one group (`nodes`: id → address). Results of nodes and probes that stay
    /// are kept; a changed probe starts afresh.
    func watch(group: String, nodes: [String: String], probes: [GroupSpec.ExternalProbe]) {
        let now = self.now()
        state.withLock { s in
            for (id, targets) in s.targets where targets.values.first?.group == group && nodes[id] == nil {
                s.targets[id] = nil
            }
            for (id, address) in nodes {
                var current = s.targets[id] ?? [:]
                var next: [String: Target] = [:]
                for probe in probes {
                    if var kept = current.removeValue(forKey: probe.name), kept.probe == probe, kept.address == address {
                        kept.group = group
                        next[probe.name] = kept
                    } else {
                        next[probe.name] = Target(group: group, address: address, probe: probe,
                                                  counter: ProbeCounter(rise: probe.rise, fall: probe.fall, start: now), due: now)
                    }
                }
                s.targets[id] = next.isEmpty ? nil : next
            }
        }
    }

    func forget(group: String) { watch(group: group, nodes: [:], probes: []) }

    func results(_ nodeID: String) -> [ProbeResult] {
        state.withLock { s in
            (s.targets[nodeID] ?? [:]).map { $0.value.counter.result(name: $0.key) }.sorted { $0.name < $1.name }
        }
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                for (nodeID, name, address, probe) in takeDue() {
                    group.addTask { await self.check(nodeID: nodeID, name: name, address: address, probe: probe) }
                }
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(50)) }
                } catch {
                    break
                }
            }
            group.cancelAll()
        }
    }

    private func takeDue() -> [(String, String, String, GroupSpec.ExternalProbe)] {
        let now = self.now()
        return state.withLock { s in
            var due: [(String, String, String, GroupSpec.ExternalProbe)] = []
            for (nodeID, targets) in s.targets {
                for (name, target) in targets where !target.inFlight && target.due <= now {
                    guard s.inFlight < maxInFlight else { return due }
                    s.targets[nodeID]?[name]?.inFlight = true
                    s.inFlight += 1
                    s.highWater = max(s.highWater, s.inFlight)
                    due.append((nodeID, name, target.address, target.probe))
                }
            }
            return due
        }
    }

    private func check(nodeID: String, name: String, address: String, probe: GroupSpec.ExternalProbe) async {
        let started = now()
        let answer: NetworkCheck.Answer
        switch probe.check {
        case .tcp(let port):
            answer = await NetworkCheck.tcp(host: address, port: port, timeout: probe.timeout.value)
        case .http(let port, let path, let status):
            let host = address.contains(":") ? "[\(address)]" : address
            answer = await NetworkCheck.http(url: "http://\(host):\(port)\(path)", expect: status, timeout: probe.timeout.value)
        }
        let finished = now()
        let changed: ProbeResult? = state.withLock { s in
            s.inFlight -= 1
            guard var target = s.targets[nodeID]?[name], target.probe == probe, target.address == address else { return nil }
            let changed = target.counter.record(answer.outcome, output: answer.output, at: finished)
            target.inFlight = false
            target.due = started.addingTimeInterval(probe.interval.value)
            s.targets[nodeID]?[name] = target
            return changed ? target.counter.result(name: name) : nil
        }
        if let changed {
            logger.info("external probe changed status", metadata: [
                "node.id": "\(nodeID)", "probe": "\(name)", "status": "\(changed.status.rawValue)", "output": "\(answer.output.prefix(200))"])
        }
    }
}
