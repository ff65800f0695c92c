import struct Foundation.Date
import func Foundation.exp
import func Foundation.log10
import func Foundation.sqrt

/// The φ-accrual failure detector (Hayashibara et al.) over one node's heartbeat arrivals: instead of a fixed
/// timeout it says how unlikely the present silence is, given the intervals seen so far. A node whose heartbeats
/// arrive like clockwork is suspected soon after it misses one; one on a jittery network is given more rope.
///
/// A value type with a bounded window, so `HealthJudge` stays a pure function of what it is given.
public struct HeartbeatHistory: Sendable, Hashable {
    /// Intervals kept; older ones fall out, so the detector follows a network that changes.
    public static let window = 100

    public private(set) var last: Date?
    private var intervals: [Double] = []
    private var next = 0
    private var sum = 0.0
    private var squares = 0.0

    public init() {}

    public var count: Int { intervals.count }

    /// Records a heartbeat's arrival. Arrivals out of order (a clock step) are ignored rather than recorded as a
    /// negative interval.
    public mutating func record(_ arrival: Date) {
        defer { if last.map({ arrival > $0 }) ?? true { last = arrival } }
        guard let last, arrival > last else { return }
        let interval = arrival.timeIntervalSince(last)
        if intervals.count < Self.window {
            intervals.append(interval)
        } else {
            let old = intervals[next]
            sum -= old
            squares -= old * old
            intervals[next] = interval
            next = (next + 1) % Self.window
        }
        sum += interval
        squares += interval * interval
    }

    public var mean: Double? { intervals.isEmpty ? nil : sum / Double(intervals.count) }

    public var standardDeviation: Double? {
        guard let mean else { return nil }
        return sqrt(max(squares / Double(intervals.count) - mean * mean, 0))
    }

    /// φ for a silence lasting until `now`: φ = −log10(P(the next heartbeat is still to come)), under a normal
    /// distribution of intervals. φ 1 means a 10 % chance the node is only late, φ 3 a 0.1 % chance. Before any
    /// interval is known, `expectedInterval` stands in for the mean.
    ///
    /// `minimumDeviation` keeps a perfectly regular history from making any delay infinitely suspicious;
    /// `acceptablePause` is added to the mean for pauses that are normal (GC, a busy node).
    public func phi(at now: Date, expectedInterval: Double, minimumDeviation: Double, acceptablePause: Double = 0) -> Double {
        guard let last else { return 0 }
        let silence = now.timeIntervalSince(last)
        let mean = (self.mean ?? expectedInterval) + acceptablePause
        let deviation = max(standardDeviation ?? minimumDeviation, minimumDeviation)
        return Self.phi(silence: silence, mean: mean, deviation: deviation)
    }

    /// The logistic approximation of the normal CDF that Cassandra and Akka use: accurate to about 1e-3 and
    /// free of `erf`, which keeps φ finite and monotonic far into the tail.
    static func phi(silence: Double, mean: Double, deviation: Double) -> Double {
        let y = (silence - mean) / deviation
        let e = exp(-y * (1.5976 + 0.070566 * y * y))
        let later = silence > mean ? e / (1 + e) : 1 - 1 / (1 + e)
        return -log10(max(later, 1e-300))
    }
}
