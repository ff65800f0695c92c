import Synchronization
import struct Foundation.Date

/// Last heartbeat per node, in memory for the reconciler's hot path, and drained in batches to the store so a
/// restarted coordinator still knows roughly when each node was last heard.
public final class HeartbeatTracker: Sendable {
    private struct State {
        var last: [String: Date] = [:]
        var dirty: Set<String> = []
        var connected: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func beat(_ nodeID: String, at: Date) {
        state.withLock {
            $0.last[nodeID] = at
            $0.dirty.insert(nodeID)
        }
    }

    public func lastHeartbeat(_ nodeID: String) -> Date? {
        state.withLock { $0.last[nodeID] }
    }

    public func setConnected(_ nodeID: String, _ connected: Bool) {
        state.withLock {
            if connected { $0.connected.insert(nodeID) } else { $0.connected.remove(nodeID) }
        }
    }

    public func isConnected(_ nodeID: String) -> Bool { state.withLock { $0.connected.contains(nodeID) } }

    public var connectedCount: Int { state.withLock { $0.connected.count } }

    /// Heartbeats received since the last drain, for a batched store write.
    public func drainDirty() -> [String: Date] {
        state.withLock { s in
            var out: [String: Date] = [:]
            for id in s.dirty { out[id] = s.last[id] }
            s.dirty.removeAll(keepingCapacity: true)
            return out
        }
    }

    public func forget(_ nodeID: String) {
        _ = state.withLock {
            $0.dirty.remove(nodeID)
            $0.connected.remove(nodeID)
            return $0.last.removeValue(forKey: nodeID)
        }
    }
}
