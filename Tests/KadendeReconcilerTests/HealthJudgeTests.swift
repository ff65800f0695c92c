import Foundation
import KadendeHealth
import KadendeModel
import KadendeWire
import Testing

/// One row per situation the judge must get right, each saying why. Heartbeat interval 1 s, ceiling 5 s, φ
/// threshold 8 (about 2.4 s of silence for a regular agent), agent grace 30 s, startup timeout 60 s.
@Suite struct HealthJudgeTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let policy = GroupSpec.HealthPolicy(heartbeatInterval: Seconds(1), heartbeatTimeout: Seconds(5), phiThreshold: 8,
                                               startupTimeout: Seconds(60), agentGrace: Seconds(30))

    struct Row: Sendable, CustomTestStringConvertible {
        var why: String
        var signals: HealthSignals
        var kind: Verdict.Kind
        var remedy: Verdict.Remedy? = nil
        var testDescription: String { why }
    }

    /// A node heard every second for 30 s, last `heartbeat` seconds from now.
    static func signals(heartbeat: Double?, watched: Double = -100, created: Double = -1000, instance: InstanceStatus? = .running,
                        missing: Bool = false, probes: [ProbeResult.Status] = [], external: [ProbeResult.Status] = [],
                        jitter: Double = 0, connected: Bool = true) -> HealthSignals {
        var history = HeartbeatHistory()
        if let heartbeat {
            for i in stride(from: 30, through: 0, by: -1) {
                history.record(now + heartbeat - Double(i) + (i % 2 == 0 ? jitter : 0))
            }
        }
        return HealthSignals(
            lastHeartbeat: heartbeat.map { now + $0 }, history: history, watchedSince: now + watched, createdAt: now + created,
            connected: connected, instance: instance, instanceMissing: missing,
            probes: probes.enumerated().map { ProbeResult(name: "p\($0)", status: $1, output: "out \($0)") },
            external: external.enumerated().map { ProbeResult(name: "e\($0)", status: $1, output: "ext \($0)") })
    }

    static let rows: [Row] = [
        Row(why: "fresh heartbeat and a running instance", signals: signals(heartbeat: -0.3), kind: .healthy),
        Row(why: "one missed heartbeat is jitter, not news", signals: signals(heartbeat: -1.8), kind: .healthy),
        Row(why: "past the floor but φ under the threshold: late, shown as suspect", signals: signals(heartbeat: -2.1), kind: .suspect),
        Row(why: "silent (φ over the threshold) with nothing else known: suspect until the ceiling", signals: signals(heartbeat: -3), kind: .suspect),
        Row(why: "silent past the ceiling: dead, whatever else is unknown", signals: signals(heartbeat: -5.2), kind: .dead),
        Row(why: "agent silent, its connection closed, external probe failing: dead, well before the ceiling",
            signals: signals(heartbeat: -2.6, external: [.critical], connected: false), kind: .dead),
        Row(why: "agent silent + external probe failing but its connection still open (paused, or a lossy link): suspect",
            signals: signals(heartbeat: -2.6, external: [.critical]), kind: .suspect),
        Row(why: "the same past the ceiling: dead (a real cut)",
            signals: signals(heartbeat: -5.5, external: [.critical]), kind: .dead),
        Row(why: "agent silent + every external probe passing: agent down (or paused), node serving; keep the node",
            signals: signals(heartbeat: -3, external: [.passing]), kind: .suspect),
        Row(why: "agent down, node serving, past the ceiling: the grace, not the ceiling, applies; restart the agent",
            signals: signals(heartbeat: -20, external: [.passing]), kind: .suspect, remedy: .restartAgent),
        Row(why: "agent down, node serving, past the agent grace: unhealthy, replaced",
            signals: signals(heartbeat: -31, external: [.passing]), kind: .unhealthy),
        Row(why: "silent + provider says stopped: dead before the ceiling",
            signals: signals(heartbeat: -2.6, instance: .stopped), kind: .dead),
        Row(why: "provider says terminated: dead at once, whatever the heartbeats",
            signals: signals(heartbeat: -0.1, instance: .terminated), kind: .dead),
        Row(why: "provider lost the instance: dead", signals: signals(heartbeat: -0.1, missing: true), kind: .dead),
        Row(why: "provider says stopped but heartbeats arrive: trust the agent", signals: signals(heartbeat: -0.1, instance: .stopped), kind: .healthy),
        Row(why: "silent + EC2's status checks impaired: dead before the ceiling",
            signals: signals(heartbeat: -2.6, instance: .impaired), kind: .dead),
        Row(why: "status checks impaired but heartbeats arrive: the agent is the better witness",
            signals: signals(heartbeat: -0.1, instance: .impaired), kind: .healthy),
        Row(why: "provider did not answer: heartbeats alone decide", signals: signals(heartbeat: -0.2, instance: nil), kind: .healthy),
        Row(why: "a probe critical on a node the agent reports from: unhealthy (the agent is the best witness)",
            signals: signals(heartbeat: -0.2, probes: [.passing, .critical]), kind: .unhealthy),
        Row(why: "a probe critical within the startup timeout: still starting, suspect",
            signals: signals(heartbeat: -0.2, created: -10, probes: [.critical]), kind: .suspect),
        Row(why: "a probe warning: healthy, the warning is shown", signals: signals(heartbeat: -0.2, probes: [.warning]), kind: .healthy),
        Row(why: "probes not yet run: healthy", signals: signals(heartbeat: -0.2, probes: [.unknown]), kind: .healthy),
        Row(why: "external probe failing while the agent reports: suspect only (the path may be what fails)",
            signals: signals(heartbeat: -0.2, external: [.critical]), kind: .suspect),
        Row(why: "a jittery network widens φ: 3 s of silence after irregular heartbeats is not yet silent",
            signals: signals(heartbeat: -3, external: [.critical], jitter: 0.9), kind: .suspect),
        Row(why: "never heard from, but watching began just now (coordinator restart grace)",
            signals: signals(heartbeat: nil, watched: -1), kind: .healthy),
        Row(why: "a heartbeat older than the start of watching does not count against the node",
            signals: signals(heartbeat: -60, watched: -2.5), kind: .suspect),
    ]

    @Test(arguments: rows)
    func verdicts(row: Row) {
        let verdict = HealthJudge.judge(row.signals, policy: Self.policy, now: Self.now)
        #expect(verdict.kind == row.kind, "\(row.why): got \(verdict)")
        #expect(verdict.remedy == row.remedy, "\(row.why): got \(verdict)")
        #expect(!verdict.reason.isEmpty)
    }

    @Test func reasonsNameTheEvidence() {
        let dead = HealthJudge.judge(Self.signals(heartbeat: -2.6, external: [.critical], connected: false), policy: Self.policy, now: Self.now)
        #expect(dead.reason.contains("external probe e0 failing: ext 0"), "\(dead.reason)")
        let sick = HealthJudge.judge(Self.signals(heartbeat: -0.2, probes: [.critical]), policy: Self.policy, now: Self.now)
        #expect(sick.reason == "probe p0 critical: out 0")
    }

    @Test func providerFactsAreMarkedAsSuch() {
        #expect(HealthJudge.judge(Self.signals(heartbeat: -0.1, instance: .terminated), policy: Self.policy, now: Self.now).providerConfirmed)
        #expect(!HealthJudge.judge(Self.signals(heartbeat: -2.6, external: [.critical], connected: false), policy: Self.policy, now: Self.now).providerConfirmed)
    }
}
