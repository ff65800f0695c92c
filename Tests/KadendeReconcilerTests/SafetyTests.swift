import Foundation
import KadendeHealth
import KadendeModel
import KadendeReconciler
import KadendeWire
import Testing

/// The remediation safety rules, each with the reason it exists.
@Suite struct SafetyTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func spec(desired: Int = 5, remediation: GroupSpec.Remediation = .init()) -> GroupSpec {
        GroupSpec(name: "web", provider: "process", size: .init(desired: desired, min: 0, max: 20),
                  health: .init(heartbeatInterval: Seconds(1), heartbeatTimeout: Seconds(5), startupTimeout: Seconds(60)),
                  remediation: remediation)
    }

    /// A node created `created` seconds ago, last heard `heartbeat` seconds ago.
    static func node(_ id: String, _ state: NodeState = .healthy, created: Double = -1000, heartbeat: Double? = -0.5,
                     convicted: Double? = nil, since: Double? = nil, external: [ProbeResult.Status] = []) -> ObservedNode {
        ObservedNode(id: id, state: state, stateSince: t0 + (since ?? created), createdAt: t0 + created, instanceID: "i-\(id)",
                     convictedAt: convicted.map { t0 + $0 },
                     signals: HealthSignals(lastHeartbeat: heartbeat.map { t0 + $0 }, watchedSince: t0 + created, instance: nil,
                                            external: external.map { ProbeResult(name: "http", status: $0, output: "refused") }))
    }

    static func instances(_ nodes: [ObservedNode]) -> [ObservedInstance] {
        nodes.filter { !$0.state.isFinal }.map { ObservedInstance(id: "i-\($0.id)", nodeID: $0.id, status: .running, launchedAt: t0 - 1000) }
    }

    static func plan(_ nodes: [ObservedNode], spec: GroupSpec = spec(), hold: String? = nil, instances: [ObservedInstance]? = nil,
                     previous: SafetyStatus? = nil) -> Plan {
        Reconciler.plan(.init(spec: spec, deleted: false, nodes: nodes, instances: instances ?? Self.instances(nodes), now: t0, hold: hold,
                              previous: previous))
    }

    static func replaced(_ plan: Plan) -> [String] {
        plan.actions.compactMap { if case .replace(let id, _) = $0 { id } else { nil } }
    }
    static func held(_ plan: Plan) -> [String] {
        plan.actions.compactMap { if case .hold(let id, _) = $0 { id } else { nil } }
    }

    @Test func breakerHoldsWhenMostOfTheGroupLooksDead() {
        // 3 of 5 silent past the ceiling: a partition of the coordinator looks like this.
        let nodes = ["a", "b"].map { Self.node($0) } + ["c", "d", "e"].map { Self.node($0, heartbeat: -6) }
        let plan = Self.plan(nodes)
        #expect(plan.safety.breaker?.contains("3 of 5") == true)
        #expect(Self.replaced(plan).isEmpty, "nothing terminated while the breaker is open")
        #expect(Self.held(plan) == ["c", "d", "e"])
        #expect(!plan.actions.contains { if case .create = $0 { true } else { false } }, "held nodes still count towards the size")
    }

    @Test func anOpenBreakerClosesOnlyAfterTheGroupHasBeenCalmForTheSettleTime() {
        // After a partition heals, nodes come back one by one: the last ones must not be convicted as the count drops.
        let opened = Self.plan(["a", "b"].map { Self.node($0) } + ["c", "d", "e"].map { Self.node($0, heartbeat: -6) })
        #expect(opened.safety.breakerOpenedAt == Self.t0)
        let partlyBack = ["a", "b", "c", "d"].map { Self.node($0) } + [Self.node("e", heartbeat: -6)]
        let settling = Self.plan(partlyBack, spec: Self.spec(), instances: nil, previous: opened.safety)
        #expect(settling.safety.breaker?.contains("closing after 30s of calm") == true)
        #expect(Self.replaced(settling).isEmpty && Self.held(settling) == ["e"], "the straggler is held, not convicted")
        var later = opened.safety
        later.breakerCalmSince = Self.t0 - 31
        let closed = Self.plan(partlyBack, previous: later)
        #expect(closed.safety.breaker == nil)
        #expect(Self.replaced(closed) == ["e"], "still silent after the settle time: really dead")
    }

    @Test func breakerStaysClosedAtOrUnderTheLimit() {
        // 2 of 5 = 40 %, not above 40 %: replaced.
        let nodes = ["a", "b", "c"].map { Self.node($0) } + ["d", "e"].map { Self.node($0, heartbeat: -6) }
        let plan = Self.plan(nodes)
        #expect(plan.safety.breaker == nil)
        #expect(Self.replaced(plan) == ["d", "e"])
    }

    @Test func aGroupOfOneStillHeals() {
        let plan = Self.plan([Self.node("a", heartbeat: -6)], spec: Self.spec(desired: 1))
        #expect(plan.safety.breaker == nil, "one sick node is never mass death")
        #expect(Self.replaced(plan) == ["a"])
    }

    @Test func providerConfirmedDeathsPassTheBreaker() {
        let nodes = ["a", "b"].map { Self.node($0) } + ["c", "d", "e"].map { Self.node($0, heartbeat: -0.5) }
        var list = Self.instances(nodes)
        for i in 2..<5 { list[i].status = .terminated }
        let plan = Self.plan(nodes, instances: list)
        #expect(Self.replaced(plan) == ["c", "d", "e"], "the machines are gone: holding them back helps nothing")
    }

    @Test func budgetCapsReplacementsPerWindow() {
        // Two replacements in the last 10 minutes, budget 3: one more now, the next waits.
        let history = [Self.node("old1", .terminated, created: -400, convicted: -300), Self.node("old2", .terminated, created: -400, convicted: -200)]
        let nodes = history + ["a", "b", "c"].map { Self.node($0) } + [Self.node("d", heartbeat: -6), Self.node("e", heartbeat: -6)]
        let plan = Self.plan(nodes, spec: Self.spec(remediation: .init(maxUnhealthyPercent: 100)))
        #expect(Self.replaced(plan).count == 1)
        #expect(Self.held(plan).count == 1)
        #expect(plan.safety.replacementsInWindow == 2)
        #expect(plan.nextCheck <= Self.t0.addingTimeInterval(1.01))
    }

    @Test func crashLoopBackoffGrowsWithEachYoungDeath() {
        let rules = GroupSpec.Remediation(minUptime: Seconds(60), backoff: Seconds(10), maxBackoff: Seconds(100))
        func delay(deaths: Int) -> Double? {
            // Each node lived 5 s; the last died 1 s ago.
            let dead = (0..<deaths).map { i in
                Self.node("d\(i)", .terminated, created: -Double(i) * 30 - 6, convicted: -Double(i) * 30 - 1)
            }
            let plan = Self.plan(dead, spec: Self.spec(desired: 1, remediation: rules))
            return plan.safety.backoffUntil.map { $0.timeIntervalSince(Self.t0) + 1 }
        }
        #expect(delay(deaths: 1) == nil, "one young death may be bad luck: replaced at once")
        #expect(delay(deaths: 2) == 10)
        #expect(delay(deaths: 3) == 20)
        #expect(delay(deaths: 4) == 40)
        #expect(delay(deaths: 6) == 100, "capped at maxBackoff")
    }

    @Test func backoffEndsWhenItsTimeComesAndASurvivorResetsTheStreak() {
        let rules = GroupSpec.Remediation(minUptime: Seconds(60), backoff: Seconds(10), maxBackoff: Seconds(100))
        let dead = [Self.node("d0", .terminated, created: -40, convicted: -35), Self.node("d1", .terminated, created: -20, convicted: -15)]
        let plan = Self.plan(dead, spec: Self.spec(desired: 1, remediation: rules))
        #expect(plan.safety.backoffUntil == nil, "10 s have passed since the death")
        #expect(plan.actions.contains(.create(count: 1, reason: "0 of 1 nodes active; creating 1")))
        let survivor = Self.node("s", created: -100)
        let afterSurvivor = Self.plan(dead.map { var n = $0; n.createdAt = Self.t0 - 200; n.convictedAt = Self.t0 - 195; return n } + [survivor],
                                      spec: Self.spec(desired: 2, remediation: rules))
        #expect(afterSurvivor.safety.crashLoopStreak == 0)
    }

    @Test func aCoordinatorHoldConvictsNobody() {
        let nodes = ["a", "b", "c", "d"].map { Self.node($0) } + [Self.node("e", heartbeat: -6)]
        let plan = Self.plan(nodes, hold: "start-up grace")
        #expect(Self.replaced(plan).isEmpty)
        #expect(plan.actions.contains { if case .hold(_, let reason) = $0 { reason.contains("start-up grace") } else { false } })
    }

    @Test func surgeKeepsAnUnhealthyNodeUntilItsReplacementIsHealthy() {
        var nodes = ["a", "b", "c", "d"].map { Self.node($0) }
        nodes.append(Self.node("e", .unhealthy, since: -5))
        let plan = Self.plan(nodes, spec: Self.spec(remediation: .init(maxSurge: 1)))
        #expect(Self.replaced(plan).isEmpty, "kept serving while its replacement starts")
        #expect(plan.actions.contains(.create(count: 1, reason: "4 of 5 nodes active; creating 1")))
        // Once the group is back to 5 healthy, the old one goes.
        let done = Self.plan(nodes + [Self.node("f", created: -30)], spec: Self.spec(remediation: .init(maxSurge: 1)))
        #expect(Self.replaced(done) == ["e"])
    }
}
