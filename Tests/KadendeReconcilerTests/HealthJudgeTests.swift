import Foundation
import KadendeHealth
import KadendeModel
import Testing

@Suite struct HealthJudgeTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let policy = GroupSpec.HealthPolicy(heartbeatInterval: Seconds(1), heartbeatTimeout: Seconds(5))

    struct Row: Sendable, CustomTestStringConvertible {
        var why: String
        var signals: HealthSignals
        var kind: Verdict.Kind
        var testDescription: String { why }
    }

    static func signals(heartbeat: Double?, watched: Double = -100, instance: InstanceStatus? = .running, missing: Bool = false) -> HealthSignals {
        HealthSignals(lastHeartbeat: heartbeat.map { now + $0 }, watchedSince: now + watched, instance: instance, instanceMissing: missing)
    }

    static let rows: [Row] = [
        Row(why: "fresh heartbeat and a running instance", signals: signals(heartbeat: -0.3), kind: .healthy),
        Row(why: "one missed heartbeat is jitter, not news", signals: signals(heartbeat: -1.8), kind: .healthy),
        Row(why: "two missed heartbeats: suspect", signals: signals(heartbeat: -2.5), kind: .suspect),
        Row(why: "silent past the timeout: dead", signals: signals(heartbeat: -5.2), kind: .dead),
        Row(why: "provider says terminated: dead at once, whatever the heartbeats", signals: signals(heartbeat: -0.1, instance: .terminated), kind: .dead),
        Row(why: "provider lost the instance: dead", signals: signals(heartbeat: -0.1, missing: true), kind: .dead),
        Row(why: "provider says stopped but heartbeats arrive: trust the agent", signals: signals(heartbeat: -0.1, instance: .stopped), kind: .healthy),
        Row(why: "provider did not answer: heartbeats alone decide", signals: signals(heartbeat: -0.2, instance: nil), kind: .healthy),
        Row(why: "never heard from, but watching began just now (coordinator restart grace)", signals: signals(heartbeat: nil, watched: -1), kind: .healthy),
        Row(why: "a heartbeat older than the start of watching does not count against the node", signals: signals(heartbeat: -60, watched: -2.5), kind: .suspect),
    ]

    @Test(arguments: rows)
    func verdicts(row: Row) {
        let verdict = HealthJudge.judge(row.signals, policy: Self.policy, now: Self.now)
        #expect(verdict.kind == row.kind, "\(row.why): got \(verdict)")
        #expect(!verdict.reason.isEmpty)
    }
}
