import KadendeHealth
import KadendeWire
import Synchronization
import struct Foundation.Date

/// What the coordinator hears from each agent, in memory for the reconciler's hot path: heartbeat arrivals (for
/// the φ detector), the node's probe results rebuilt from the changes heartbeats carry, and whether a connection
/// is open. The last heartbeat is drained in batches to the store so a restarted coordinator still knows roughly
/// when each node was last heard.
public final class HeartbeatTracker: Sendable {
    public struct Snapshot: Sendable, Hashable {
        public var last: Date?
        public var history: HeartbeatHistory
        public var probes: [ProbeResult]
        public var connected: Bool
        /// The agent's summary disagreed with the results rebuilt here (a change was lost): shown, not judged.
        public var probeViewStale: Bool
    }

    private struct Entry {
        var history = HeartbeatHistory()
        var probes: [String: ProbeResult] = [:]
        var stale = false
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var dirty: Set<String> = []
        var connected: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func beat(_ nodeID: String, at: Date) {
        state.withLock {
            $0.entries[nodeID, default: Entry()].history.record(at)
            $0.dirty.insert(nodeID)
        }
    }

    /// A heartbeat with its probe results: all of them when `full`, else the ones that changed.
    public func beat(_ nodeID: String, at: Date, probes: [ProbeResult], full: Bool, summary: ProbeSummary?) {
        state.withLock { s in
            var entry = s.entries[nodeID, default: Entry()]
            entry.history.record(at)
            if full { entry.probes = [:] }
            // One heartbeat carries at most `WireLimits.probeResults`; so does what is kept of a node across them,
            // or a node could make this table grow by naming new probes each time. Known names are always updated.
            for result in probes where entry.probes[result.name] != nil || entry.probes.count < WireLimits.probeResults {
                entry.probes[result.name] = result
            }
            if let summary {
                let rebuilt = ProbeSummary(entry.probes.values)
                entry.stale = rebuilt.digest != summary.digest
                if entry.stale, full { entry.stale = false }  // a full set is the truth, whatever the digest says
            }
            s.entries[nodeID] = entry
            s.dirty.insert(nodeID)
        }
    }

    public func lastHeartbeat(_ nodeID: String) -> Date? {
        state.withLock { $0.entries[nodeID]?.history.last }
    }

    public func snapshot(_ nodeID: String) -> Snapshot {
        state.withLock { s in
            let entry = s.entries[nodeID]
            return Snapshot(last: entry?.history.last, history: entry?.history ?? HeartbeatHistory(),
                            probes: (entry?.probes.values).map { $0.sorted { $0.name < $1.name } } ?? [],
                            connected: s.connected.contains(nodeID), probeViewStale: entry?.stale ?? false)
        }
    }

    public func setConnected(_ nodeID: String, _ connected: Bool) {
        state.withLock {
            if connected { $0.connected.insert(nodeID) } else { $0.connected.remove(nodeID) }
        }
    }

    public func isConnected(_ nodeID: String) -> Bool { state.withLock { $0.connected.contains(nodeID) } }

    public var connectedCount: Int { state.withLock { $0.connected.count } }

    /// Heartbeats received since the last drain, for a batched store write.
    /// Puts back heartbeats whose write to the store failed, so the next flush tries them again.
    public func markDirty(_ beats: [String: Date]) {
        state.withLock { s in for id in beats.keys where s.entries[id] != nil { s.dirty.insert(id) } }
    }

    public func drainDirty() -> [String: Date] {
        state.withLock { s in
            var out: [String: Date] = [:]
            for id in s.dirty { out[id] = s.entries[id]?.history.last }
            s.dirty.removeAll(keepingCapacity: true)
            return out
        }
    }

    public func forget(_ nodeID: String) {
        _ = state.withLock {
            $0.dirty.remove(nodeID)
            $0.connected.remove(nodeID)
            return $0.entries.removeValue(forKey: nodeID)
        }
    }
}
