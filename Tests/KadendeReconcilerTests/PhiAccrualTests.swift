import Foundation
import KadendeHealth
import Testing

@Suite struct PhiAccrualTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func history(_ intervals: [Double]) -> HeartbeatHistory {
        var h = HeartbeatHistory()
        var t = start
        h.record(t)
        for i in intervals {
            t += i
            h.record(t)
        }
        return h
    }

    @Test func regularHeartbeatsMakeASilenceSuspiciousSoon() throws {
        let h = Self.history(Array(repeating: 1.0, count: 50))
        let last = try #require(h.last)
        let phi = { (silence: Double) in h.phi(at: last + silence, expectedInterval: 1, minimumDeviation: 0.1) }
        #expect(phi(0.5) < 0.5, "half an interval of silence is nothing")
        #expect(phi(1.0) < 1, "on time")
        #expect(phi(1.5) > 3, "half an interval late with a steady history is already unlikely")
        #expect(phi(2.0) > 8)
        // φ grows with silence and never turns back.
        let values = stride(from: 0.0, through: 10, by: 0.25).map(phi)
        let monotonic = zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }
        let finite = values.allSatisfy { $0.isFinite }
        #expect(monotonic && finite, "\(values)")
    }

    @Test func aJitteryHistoryGivesMoreRope() throws {
        let steady = Self.history(Array(repeating: 1.0, count: 50))
        let jittery = Self.history((0..<50).map { $0.isMultiple(of: 2) ? 0.4 : 1.6 })
        #expect(abs((jittery.mean ?? 0) - 1) < 0.01)
        let silence = 2.0
        let a = steady.phi(at: try #require(steady.last) + silence, expectedInterval: 1, minimumDeviation: 0.1)
        let b = jittery.phi(at: try #require(jittery.last) + silence, expectedInterval: 1, minimumDeviation: 0.1)
        #expect(b < a, "steady φ \(a), jittery φ \(b)")
    }

    @Test func anAcceptablePauseDelaysSuspicion() throws {
        let h = Self.history(Array(repeating: 1.0, count: 50))
        let at = try #require(h.last) + 2.5
        #expect(h.phi(at: at, expectedInterval: 1, minimumDeviation: 0.1, acceptablePause: 2) < 1)
        #expect(h.phi(at: at, expectedInterval: 1, minimumDeviation: 0.1) > 8)
    }

    @Test func windowForgetsOldIntervalsAndIgnoresTimeGoingBack() throws {
        var h = Self.history(Array(repeating: 5.0, count: HeartbeatHistory.window))
        let last = try #require(h.last)
        for i in 1...HeartbeatHistory.window { h.record(last + Double(i)) }
        #expect(h.count == HeartbeatHistory.window)
        #expect(abs((h.mean ?? 0) - 1) < 1e-9, "only the recent 1 s intervals remain")
        let before = h
        h.record(last)  // a clock step back: no negative interval
        #expect(h == before)
    }

    @Test func noHistoryMeansNoSuspicionUntilTheFirstHeartbeat() {
        #expect(HeartbeatHistory().phi(at: Self.start, expectedInterval: 1, minimumDeviation: 0.1) == 0)
        let one = Self.history([])
        #expect(one.phi(at: Self.start + 0.5, expectedInterval: 1, minimumDeviation: 0.1) < 1)
        #expect(one.phi(at: Self.start + 3, expectedInterval: 1, minimumDeviation: 0.1) > 8)
    }
}
