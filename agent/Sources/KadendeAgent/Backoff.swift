/// Jittered exponential backoff ("full jitter"): after a failure, wait a random time in [0, min(cap, base·2ⁿ)].
/// Thousands of agents that lose their coordinator at once come back spread out instead of in one wave.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public private(set) var attempt = 0

    public init(base: Double = 0.5, cap: Double = 10) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling for the next wait, before jitter.
    public var ceiling: Double { min(cap, base * Double(1 << min(attempt, 30))) }

    public mutating func next<R: RandomNumberGenerator>(using rng: inout R) -> Double {
        let ceiling = self.ceiling
        attempt += 1
        return Double.random(in: 0...ceiling, using: &rng)
    }

    public mutating func next() -> Double {
        var rng = SystemRandomNumberGenerator()
        return next(using: &rng)
    }

    public mutating func reset() { attempt = 0 }
}
