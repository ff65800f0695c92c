import KadendeModel
import KadendeProviders
import KadendeStore
import struct Foundation.Date

extension ReconcileLoop {
    /// Each group's pass finds the orphans of that group. This sweep finds the rest: instances tagged for a
    /// cluster and a group that Kadende no longer has (a group purged while a create was lost, a store restored
    /// from an older backup). They are destroyed once this coordinator has seen them for `orphanGrace`, with an
    /// event; an instance without Kadende's node tag is never touched.
    func sweepOrphans(_ groups: [GroupRecord]) async {
        let now = self.now()
        let due = memory.withLock { m -> Bool in
            guard m.lastSweep.map({ now.timeIntervalSince($0) >= sweepInterval }) ?? true else { return false }
            m.lastSweep = now
            return true
        }
        guard due else { return }
        let known = Set(groups.map { "\($0.cluster)/\($0.name)" })
        let clusters = Set(groups.map(\.cluster)).union(["default"])
        var seen: Set<String> = []
        for cluster in clusters.sorted() {
            for provider in providers.names {
                guard let scoped = try? providers.provider(named: provider, cluster: cluster),
                      let instances = try? await scoped.list(tags: [InstanceTag.cluster: cluster]) else { continue }
                for instance in instances where instance.status != .terminated {
                    guard instance.nodeID != nil, let group = instance.tags[InstanceTag.group] else { continue }
                    guard !known.contains("\(cluster)/\(group)") else { continue }
                    seen.insert(instance.id)
                    let first = memory.withLock { m in
                        if let seen = m.orphansSeen[instance.id] { return seen }
                        m.orphansSeen[instance.id] = now
                        return now
                    }
                    guard now.timeIntervalSince(first) >= orphanGrace else { continue }
                    let reason = "instance \(instance.id) is tagged for group \(cluster)/\(group), which Kadende no longer has"
                    do {
                        try await scoped.destroy(instanceID: instance.id, reason: reason)
                        try await store.appendEvent(NodeEvent(at: self.now(), cluster: cluster, group: group, nodeID: instance.nodeID,
                                                              kind: .orphanDestroyed, reason: "\(reason); destroyed after \(Int(orphanGrace))s"))
                        logger.notice("orphan destroyed", metadata: ["instance.id": "\(instance.id)", "group.id": "\(cluster)/\(group)"])
                    } catch {
                        try? await store.appendEvent(NodeEvent(at: self.now(), cluster: cluster, group: group, nodeID: instance.nodeID,
                                                               kind: .providerError, reason: "destroying orphan \(instance.id) failed: \(error)"))
                    }
                }
            }
        }
        memory.withLock { m in m.orphansSeen = m.orphansSeen.filter { seen.contains($0.key) } }
    }

    /// Every 30 s, or faster when the grace is short (tests).
    var sweepInterval: Double { min(30, max(orphanGrace / 2, 0.5)) }
}
