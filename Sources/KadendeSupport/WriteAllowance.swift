import Synchronization

/// How much a peer nobody has authenticated may make the coordinator write (audit entries of failed logins and
/// refused enrolments): a bucket per source address and one for all of them, each refilling at a steady rate. A
/// write beyond them is counted, not made, and the next write that is made says how many were left out. Pure: the
/// caller passes the time (seconds on any steady clock).
public struct WriteAllowance: Sendable {
    public var burstPerSource: Double = 10
    public var perSourcePerMinute: Double = 10
    public var burstOverall: Double = 100
    public var overallPerMinute: Double = 120
    /// Sources remembered; the quietest are forgotten first.
    public var capacity = 10_000

    struct Bucket: Sendable {
        var tokens: Double
        var at: Double
        var suppressed = 0

        mutating func refill(now: Double, rate: Double, burst: Double) {
            tokens = min(burst, tokens + max(0, now - at) * rate / 60)
            at = now
        }
    }

    private var sources: [String: Bucket] = [:]
    private var overall: Bucket?

    public init() {}

    /// Whether a write for `source` may be made now, and how many of that source's were left out since its last one.
    public mutating func take(source: String, now: Double) -> (allowed: Bool, leftOut: Int) {
        var all = overall ?? Bucket(tokens: burstOverall, at: now)
        all.refill(now: now, rate: overallPerMinute, burst: burstOverall)
        var mine = sources[source] ?? Bucket(tokens: burstPerSource, at: now)
        mine.refill(now: now, rate: perSourcePerMinute, burst: burstPerSource)
        defer {
            overall = all
            sources[source] = mine
            if sources.count > capacity {
                for key in sources.sorted(by: { $0.value.at < $1.value.at }).prefix(sources.count - capacity).map(\.key) { sources[key] = nil }
            }
        }
        guard mine.tokens >= 1, all.tokens >= 1 else {
            mine.suppressed += 1
            return (false, 0)
        }
        mine.tokens -= 1
        all.tokens -= 1
        let leftOut = mine.suppressed
        mine.suppressed = 0
        return (true, leftOut)
    }
}


/// One `WriteAllowance` shared by the tasks that write for unauthenticated peers.
public final class SharedWriteAllowance: Sendable {
    private let state: Mutex<WriteAllowance>

    public init(_ allowance: WriteAllowance = WriteAllowance()) {
        state = Mutex(allowance)
    }

    public func take(source: String, now: Double) -> (allowed: Bool, leftOut: Int) {
        state.withLock { $0.take(source: source, now: now) }
    }

    /// `outcome`, with how many like it from the same source were left out before it.
    public static func outcome(_ outcome: String, leftOut: Int) -> String {
        leftOut == 0 ? outcome : outcome + " (\(leftOut) more from this address not recorded)"
    }
}
