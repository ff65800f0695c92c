import KadendeModel
import KadendeStore
import KadendeSupport
import Synchronization
import struct Foundation.Date
import class Foundation.ProcessInfo

/// Which groups this replica reconciles. On PostgreSQL each group is leased by one replica (see
/// `PostgresStore+Leases`); on SQLite the one coordinator owns them all. A lease is used only while it was renewed
/// within most of its duration by this replica's clock; the store fences every write against the lease's term in
/// any case, so an owner that was paused or cut off past its expiry writes nothing.
struct Ownership {
    var leases: [String: GroupLease] = [:]
    /// When this replica took each group (for the failover grace).
    var takenAt: [String: Date] = [:]
    var renewedAt: Date?
}

/// How this coordinator takes part among replicas.
public struct ReplicaSettings: Sendable {
    /// This coordinator's name in leases and events.
    public var id: String
    /// A lease lasts this long past its last renewal (by the database's clock); another replica takes the group
    /// once it has run out.
    public var leaseDuration: Double = 6
    /// After taking a group from another replica, nobody in it is convicted for this long: its agents were
    /// talking to the old owner and reconnect here with backoff.
    public var failoverGrace: Double = 15

    public init(id: String) { self.id = id }

    /// Host name, process id and a random suffix: unique among replicas, readable in events.
    public static func defaultID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "kadende"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }
}

extension ReconcileLoop {
    /// Renews and takes leases; records each group taken over as an event under its new lease.
    func renewLeases() async {
        let leases: [GroupLease]
        do {
            leases = try await store.leaseGroups(owner: replica.id, duration: replica.leaseDuration)
        } catch {
            logger.error("cannot renew group leases", metadata: ["error": "\(error)"])
            return
        }
        let now = self.now()
        let (taken, lost) = ownership.withLock { o -> ([GroupLease], [String]) in
            var taken: [GroupLease] = []
            var next: [String: GroupLease] = [:]
            for lease in leases {
                next[lease.key] = lease
                if o.leases[lease.key]?.term != lease.term {
                    o.takenAt[lease.key] = now
                    taken.append(lease)
                }
            }
            let lost = o.leases.keys.filter { next[$0] == nil }
            for key in lost { o.takenAt[key] = nil }
            o.leases = next
            o.renewedAt = now
            return (taken, lost)
        }
        for key in lost {
            logger.notice("group lease given up or lost", metadata: ["group.id": "\(key)", "replica": "\(replica.id)"])
        }
        for lease in taken where lease.acquired {
            logger.notice("group lease taken", metadata: ["group.id": "\(lease.key)", "replica": "\(replica.id)", "term": "\(lease.term)"])
            do {
                try await Fence.$current.withValue(lease) {
                    try await store.appendEvent(NodeEvent(
                        at: now, cluster: lease.cluster, group: lease.group, nodeID: nil, kind: .ownerChanged,
                        reason: "replica \(replica.id) owns the group (term \(lease.term))"
                            + (lease.term > 1 ? "; nobody is convicted for \(Int(replica.failoverGrace))s while agents reconnect" : "")))
                }
            } catch {
                logger.warning("cannot record the lease change", metadata: ["group.id": "\(lease.key)", "error": "\(error)"])
            }
        }
    }

    /// The group's lease if this replica holds it and renewed it recently enough to act on it.
    func lease(_ key: String) -> GroupLease? {
        let now = self.now()
        return ownership.withLock { o in
            guard let renewed = o.renewedAt, now.timeIntervalSince(renewed) < replica.leaseDuration * 0.75 else { return nil }
            return o.leases[key]
        }
    }

    /// Why convictions in a group just taken from another replica wait, or nil.
    func failoverHold(_ lease: GroupLease) -> String? {
        guard lease.term > 1, let taken = ownership.withLock({ $0.takenAt[lease.key] }) else { return nil }
        let until = taken.addingTimeInterval(replica.failoverGrace)
        guard now() < until else { return nil }
        return "replica \(replica.id) took the group over at \(taken) (term \(lease.term)); nobody is convicted before \(until) while agents reconnect"
    }

    /// Every lease this replica holds; for the API.
    public func ownedGroups() -> [GroupLease] { ownership.withLock { Array($0.leases.values) } }

    /// Keeps the leases renewed while the loop runs, however long a pass takes.
    func leaseKeeper() -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                await renewLeases()
                try? await Task.sleep(for: .milliseconds(Clamp.milliseconds(replica.leaseDuration / 4)))
            }
        }
    }

    /// Heartbeats go to the store every second, so the owner of a node's group sees them whichever replica the
    /// agent is connected to.
    func heartbeatFlusher() -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await flushHeartbeats()
            }
        }
    }

    func flushHeartbeats() async {
        let beats = tracker.drainDirty()
        guard !beats.isEmpty else { return }
        do {
            try await store.recordHeartbeats(beats)
        } catch {
            tracker.markDirty(beats)
            logger.error("cannot record heartbeats", metadata: ["error": "\(error)", "nodes": "\(beats.count)"])
        }
    }
}
