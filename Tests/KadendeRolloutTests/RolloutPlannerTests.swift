import Foundation
import KadendeModel
import KadendeRollout
import KadendeStore
import KadendeWire
import Testing

/// The planner on a manual clock: batches, maxUnavailable, bake, pause, failures, rollback, pause/resume.
struct RolloutPlannerTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func rollout(_ policy: RolloutPolicy = RolloutPolicy(batch: .count(3), maxUnavailable: .count(3), bake: Seconds(10)),
                 state: RolloutState = .running, target: ConfigTarget = ConfigTarget(), previous: Int? = 1) -> RolloutRecord {
        RolloutRecord(id: 7, cluster: "default", group: "web", revision: 2, previous: previous, kind: .push, target: target,
                      policy: policy, state: state, reason: "pushed", createdAt: t0, updatedAt: t0)
    }

    func nodes(_ n: Int, configure: (Int) -> NodeConfigRecord? = { _ in nil }) -> [RolloutPlanner.NodeView] {
        (0..<n).map { i in
            RolloutPlanner.NodeView(id: "n\(i)", state: .healthy, healthy: true, config: configure(i))
        }
    }

    func applied(_ id: String, revision: Int, at: Date, rollout: Int64? = 7) -> NodeConfigRecord {
        NodeConfigRecord(nodeID: id, desired: revision, rollout: rollout, pushedAt: at.addingTimeInterval(-0.1),
                         reported: Ack(revision: revision, outcome: .applied), reportedAt: at)
    }

    func pushed(_ plan: RolloutPlanner.Plan) -> [String] {
        plan.decisions.flatMap { decision -> [String] in
            if case .push(let ids, _, _) = decision { return ids }
            return []
        }
    }

    @Test func firstBatchTakesBatchSizeInNodeOrder() {
        let plan = RolloutPlanner.plan(rollout(), nodes: nodes(10), now: t0)
        #expect(pushed(plan) == ["n0", "n1", "n2"])
    }

    @Test func nextBatchWaitsForBakeThenPause() {
        var policy = RolloutPolicy(batch: .count(3), maxUnavailable: .count(3), pause: Seconds(5), bake: Seconds(10))
        policy.maxFailures = 0
        let acked = t0.addingTimeInterval(1)
        let view = nodes(10) { $0 < 3 ? applied("n\($0)", revision: 2, at: acked) : nil }
        // Baking: nothing new, wake at the end of the bake.
        var plan = RolloutPlanner.plan(rollout(policy), nodes: view, now: acked.addingTimeInterval(3))
        #expect(pushed(plan).isEmpty)
        #expect(plan.nextCheck == acked.addingTimeInterval(10))
        // Baked but pausing between batches.
        plan = RolloutPlanner.plan(rollout(policy), nodes: view, now: acked.addingTimeInterval(12))
        #expect(pushed(plan).isEmpty)
        #expect(plan.nextCheck == acked.addingTimeInterval(15))
        plan = RolloutPlanner.plan(rollout(policy), nodes: view, now: acked.addingTimeInterval(15))
        #expect(pushed(plan) == ["n3", "n4", "n5"])
    }

    @Test func unhealthyNodesUseUpMaxUnavailable() {
        var view = nodes(10)
        view[9].healthy = false
        view[9].state = .suspect
        let plan = RolloutPlanner.plan(rollout(RolloutPolicy(batch: .count(3), maxUnavailable: .count(2))), nodes: view, now: t0)
        #expect(pushed(plan) == ["n0"], "2 may be unavailable, 1 already is")
    }

    @Test func percentBatchesRoundUp() {
        let plan = RolloutPlanner.plan(rollout(RolloutPolicy(batch: .percent(25), maxUnavailable: .percent(50))), nodes: nodes(10), now: t0)
        #expect(pushed(plan).count == 3)
    }

    @Test func aFailedNodeRollsBackEveryTouchedNode() {
        let view = nodes(10) { i in
            switch i {
            case 0, 1: return self.applied("n\(i)", revision: 2, at: self.t0)
            case 2: return NodeConfigRecord(nodeID: "n2", desired: 2, rollout: 7, pushedAt: self.t0,
                                            reported: Ack(revision: 2, outcome: .failed, message: "command migrate: exit 3"), reportedAt: self.t0.addingTimeInterval(1))
            default: return NodeConfigRecord(nodeID: "n\(i)", desired: 1, rollout: 3, reported: Ack(revision: 1, outcome: .applied), reportedAt: self.t0)
            }
        }
        let plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(2))
        #expect(plan.decisions.contains(.nodeFailed("n2", reason: "command migrate: exit 3")))
        #expect(plan.decisions.contains { if case .transition(.rollingBack, _) = $0 { true } else { false } })
        #expect(pushed(plan) == ["n0", "n1", "n2"])
        #expect(plan.decisions.contains { if case .push(_, 1, _) = $0 { true } else { false } })
    }

    @Test func failuresWithinMaxFailuresContinue() {
        var policy = RolloutPolicy(batch: .count(3), maxUnavailable: .count(3), bake: Seconds(0))
        policy.maxFailures = 1
        let view = nodes(4) { i in
            i == 0 ? NodeConfigRecord(nodeID: "n0", desired: 2, rollout: 7, pushedAt: self.t0,
                                      reported: Ack(revision: 2, outcome: .failed, message: "boom"), reportedAt: self.t0) : nil
        }
        let plan = RolloutPlanner.plan(rollout(policy), nodes: view, now: t0.addingTimeInterval(1))
        #expect(pushed(plan) == ["n1", "n2", "n3"])
    }

    @Test func noAckWithinTheApplyTimeoutIsAFailure() {
        let view = nodes(3) { i in NodeConfigRecord(nodeID: "n\(i)", desired: 2, rollout: 7, pushedAt: self.t0) }
        var plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(299))
        #expect(plan.nextCheck == t0.addingTimeInterval(300))
        #expect(!plan.decisions.contains { if case .nodeFailed = $0 { true } else { false } })
        plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(300))
        #expect(plan.decisions.contains { if case .transition(.rollingBack, _) = $0 { true } else { false } })
    }

    @Test func aNodeThatTurnsUnhealthyWhileBakingFailsTheGate() {
        var view = nodes(3) { i in i == 0 ? self.applied("n0", revision: 2, at: self.t0) : nil }
        view[0].healthy = false
        view[0].state = .suspect
        view[0].healthReason = "probe web critical"
        let plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(2))
        #expect(plan.decisions.contains(.nodeFailed("n0", reason: "went suspect while baking: probe web critical")))
    }

    @Test func aNodeTerminatedMidRolloutCountsAsFailed() {
        var view = nodes(3) { i in i == 0 ? NodeConfigRecord(nodeID: "n0", desired: 2, rollout: 7, pushedAt: self.t0) : nil }
        view[0].state = .terminated
        let plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(1))
        #expect(plan.decisions.contains { if case .nodeFailed("n0", _) = $0 { true } else { false } })
    }

    @Test func withoutAnEarlierRevisionAFailureStops() {
        let view = nodes(2) { i in
            NodeConfigRecord(nodeID: "n\(i)", desired: 2, rollout: 7, pushedAt: self.t0, reported: Ack(revision: 2, outcome: .failed), reportedAt: self.t0)
        }
        let plan = RolloutPlanner.plan(rollout(previous: nil), nodes: view, now: t0.addingTimeInterval(1))
        #expect(plan.decisions.contains { if case .transition(.failed, _) = $0 { true } else { false } })
        #expect(pushed(plan).isEmpty)
    }

    @Test func pausedRolloutsStartNoBatchButFinishInFlight() {
        let view = nodes(6) { i in i < 3 ? self.applied("n\(i)", revision: 2, at: self.t0) : nil }
        let plan = RolloutPlanner.plan(rollout(state: .paused), nodes: view, now: t0.addingTimeInterval(60))
        #expect(pushed(plan).isEmpty)
        #expect(plan.progress.done == 3)
    }

    @Test func succeedsWhenEveryTargetedNodeIsDone() {
        let view = nodes(3) { i in self.applied("n\(i)", revision: 2, at: self.t0) }
        let plan = RolloutPlanner.plan(rollout(), nodes: view, now: t0.addingTimeInterval(11))
        #expect(plan.decisions.contains { if case .transition(.succeeded, _) = $0 { true } else { false } })
    }

    @Test func selectorsAndNamesNarrowTheTarget() throws {
        var view = nodes(4)
        view[1].labels = ["role": "canary"]
        view[3].labels = ["role": "canary"]
        let selector = try LabelSelector.parse("role=canary").get()
        var plan = RolloutPlanner.plan(rollout(target: ConfigTarget(selector: selector)), nodes: view, now: t0)
        #expect(pushed(plan) == ["n1", "n3"])
        plan = RolloutPlanner.plan(rollout(target: ConfigTarget(selector: selector, nodes: ["n3"])), nodes: view, now: t0)
        #expect(pushed(plan) == ["n3"])
    }

    @Test func rollbackFinishesWhenTouchedNodesAreBack() {
        var r = rollout()
        r.state = .rollingBack
        r.reason = "rolling back to revision 1: 1 node(s) failed"
        let view = nodes(3) { i in i < 2 ? self.applied("n\(i)", revision: 1, at: self.t0) : nil }
        let plan = RolloutPlanner.plan(r, nodes: view, now: t0.addingTimeInterval(1))
        #expect(plan.decisions.contains { if case .transition(.rolledBack, _) = $0 { true } else { false } })
    }
}
