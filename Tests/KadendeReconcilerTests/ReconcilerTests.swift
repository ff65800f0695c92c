import Foundation
import KadendeHealth
import KadendeModel
import KadendeReconciler
import Testing

/// One row per situation the reconciler must get right, each saying why.
@Suite struct ReconcilerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let spec = GroupSpec(
        name: "web", provider: "process", size: .init(desired: 3, min: 0, max: 10),
        health: .init(heartbeatInterval: Seconds(1), heartbeatTimeout: Seconds(5), startupTimeout: Seconds(60)))

    static func node(_ id: String, _ state: NodeState, created: Double = -100, heartbeat: Double? = -0.5, instance: Bool = true) -> ObservedNode {
        ObservedNode(id: id, state: state, stateSince: t0 + created, createdAt: t0 + created,
                     instanceID: instance ? "i-\(id)" : nil,
                     signals: HealthSignals(lastHeartbeat: heartbeat.map { t0 + $0 }, watchedSince: t0 + created, instance: nil))
    }

    static func instance(_ node: String?, _ status: InstanceStatus = .running, launched: Double = -100) -> ObservedInstance {
        ObservedInstance(id: "i-\(node ?? "untagged")", nodeID: node, status: status, launchedAt: t0 + launched)
    }

    static func healthy(_ ids: [String]) -> ([ObservedNode], [ObservedInstance]) {
        (ids.map { node($0, .healthy) }, ids.map { instance($0) })
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var why: String
        var nodes: [ObservedNode]
        var instances: [ObservedInstance]?
        var deleted = false
        var expect: [Action]
        var testDescription: String { why }
    }

    static let rows: [Row] = [
        Row(why: "an empty group creates its whole size", nodes: [], instances: [],
            expect: [.create(count: 3, reason: "0 of 3 nodes active; creating 3")]),
        Row(why: "a group at size with fresh heartbeats needs nothing",
            nodes: healthy(["a", "b", "c"]).0, instances: healthy(["a", "b", "c"]).1, expect: []),
        Row(why: "a node silent past its timeout is replaced, and a new node restores the size",
            nodes: [node("a", .healthy), node("b", .healthy), node("c", .healthy, heartbeat: -5.5)],
            instances: healthy(["a", "b", "c"]).1,
            expect: [.replace(nodeID: "c", reason: "no heartbeat for 5.5s, past the ceiling 5s; provider reports running"),
                     .create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
        Row(why: "two missed heartbeats make a node suspect but it is not replaced",
            nodes: [node("a", .healthy), node("b", .healthy), node("c", .healthy, heartbeat: -2.5)],
            instances: healthy(["a", "b", "c"]).1,
            expect: [.transition(nodeID: "c", to: .suspect, reason: "no heartbeat for 2.5s (φ 10.8); no second signal yet, convicted at the ceiling 5s unless it speaks")]),
        Row(why: "a suspect node whose heartbeats are back is healthy again",
            nodes: [node("a", .healthy), node("b", .healthy), node("c", .suspect)], instances: healthy(["a", "b", "c"]).1,
            expect: [.transition(nodeID: "c", to: .healthy, reason: "heartbeat 0.5s ago")]),
        Row(why: "the provider reporting an instance terminated convicts at once, despite fresh heartbeats",
            nodes: healthy(["a", "b", "c"]).0, instances: [instance("a"), instance("b"), instance("c", .terminated)],
            expect: [.replace(nodeID: "c", reason: "provider reports the instance terminated"),
                     .create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
        Row(why: "an instance missing from the provider's list convicts its node",
            nodes: healthy(["a", "b", "c"]).0, instances: [instance("a"), instance("b")],
            expect: [.replace(nodeID: "c", reason: "provider no longer lists the node's instance"),
                     .create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
        Row(why: "a stopped instance alone does not convict: heartbeats decide",
            nodes: healthy(["a", "b", "c"]).0, instances: [instance("a"), instance("b"), instance("c", .stopped)], expect: []),
        Row(why: "when the provider does not answer, heartbeats still judge but nothing is provisioned",
            nodes: [node("a", .healthy), node("b", .requested, created: -1, instance: false)], instances: nil,
            expect: [.create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
        Row(why: "a node that did not enrol within the startup timeout fails",
            nodes: [node("a", .healthy), node("b", .healthy), node("c", .enrolling, created: -61, heartbeat: nil)],
            instances: healthy(["a", "b", "c"]).1,
            expect: [.fail(nodeID: "c", reason: "did not enrol within the startup timeout 1m"),
                     .create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
        Row(why: "an intent without an instance (coordinator died before create) is provisioned again",
            nodes: healthy(["a", "b"]).0 + [node("c", .requested, created: -1, heartbeat: nil, instance: false)],
            instances: healthy(["a", "b"]).1,
            expect: [.provision(nodeID: "c", reason: "intent recorded; creating its machine")]),
        Row(why: "an instance found by tag for a node without one (create returned after a crash) is adopted, not created twice",
            nodes: healthy(["a", "b"]).0 + [node("c", .provisioning, created: -1, heartbeat: nil, instance: false)],
            instances: healthy(["a", "b"]).1 + [instance("c")],
            expect: [.adopt(nodeID: "c", instanceID: "i-c")]),
        Row(why: "a node left terminating by a crash is finished",
            nodes: healthy(["a", "b", "c"]).0 + [node("d", .terminating)], instances: healthy(["a", "b", "c", "d"]).1,
            expect: [.finishTermination(nodeID: "d")]),
        Row(why: "an instance of a finished node is destroyed",
            nodes: healthy(["a", "b", "c"]).0 + [node("d", .terminated)], instances: healthy(["a", "b", "c", "d"]).1,
            expect: [.destroyOrphan(instanceID: "i-d", reason: "node d is finished but its instance still exists")]),
        Row(why: "an unknown tagged instance is left alone during the orphan grace",
            nodes: healthy(["a", "b", "c"]).0, instances: healthy(["a", "b", "c"]).1 + [instance("x", launched: -10)], expect: []),
        Row(why: "an unknown tagged instance is destroyed after the orphan grace",
            nodes: healthy(["a", "b", "c"]).0, instances: healthy(["a", "b", "c"]).1 + [instance("x", launched: -200)],
            expect: [.destroyOrphan(instanceID: "i-x", reason: "tagged for this group but no node x is recorded")]),
        Row(why: "an instance without Kadende's node tag is never touched",
            nodes: healthy(["a", "b", "c"]).0, instances: healthy(["a", "b", "c"]).1 + [instance(nil, launched: -9999)], expect: []),
        Row(why: "scale-down sheds a starting node before healthy ones",
            nodes: healthy(["a", "b", "c"]).0 + [node("d", .enrolling, created: -1, heartbeat: nil)],
            instances: healthy(["a", "b", "c", "d"]).1,
            expect: [.terminate(nodeID: "d", reason: "scaling down to 3")]),
        Row(why: "a deleted group terminates every node",
            nodes: healthy(["a", "b"]).0, instances: healthy(["a", "b"]).1, deleted: true,
            expect: [.terminate(nodeID: "a", reason: "group deleted"), .terminate(nodeID: "b", reason: "group deleted")]),
        Row(why: "an unhealthy node left by a crash is replaced",
            nodes: healthy(["a", "b"]).0 + [node("c", .unhealthy)], instances: healthy(["a", "b", "c"]).1,
            expect: [.replace(nodeID: "c", reason: "convicted earlier; finishing its replacement"),
                     .create(count: 1, reason: "2 of 3 nodes active; creating 1")]),
    ]

    @Test(arguments: rows)
    func plans(row: Row) {
        let plan = Reconciler.plan(.init(spec: Self.spec, deleted: row.deleted, nodes: row.nodes, instances: row.instances, now: Self.t0))
        #expect(plan.actions == row.expect, "\(row.why)")
        #expect(plan.nextCheck > Self.t0)
    }

    @Test func nextCheckIsWhenAHeartbeatWouldBeLate() {
        let (nodes, instances) = Self.healthy(["a", "b", "c"])
        let plan = Reconciler.plan(.init(spec: Self.spec, deleted: false, nodes: nodes, instances: instances, now: Self.t0))
        // Last heartbeat 0.5 s ago, suspect after two intervals: due in 1.5 s.
        #expect(abs(plan.nextCheck.timeIntervalSince(Self.t0) - 1.51) < 0.001)
    }

    @Test func silenceCountsOnlyFromWhenWatchingBegan() {
        // After a coordinator restart, a node with no heartbeat yet is not convicted before its grace ends.
        var node = Self.node("a", .healthy, heartbeat: nil)
        node.signals.watchedSince = Self.t0 - 3
        let plan = Reconciler.plan(.init(spec: Self.spec, deleted: false, nodes: [node], instances: [Self.instance("a")], now: Self.t0))
        #expect(!plan.actions.contains { if case .replace = $0 { true } else { false } })
    }
}
