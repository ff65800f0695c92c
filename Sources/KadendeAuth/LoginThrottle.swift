import struct Foundation.Date

/// Slows password guessing per account and per source address: a few free failures, then each failure (the API
/// counts tries made while locked as failures) locks the key for twice as long as the one before (1 s, 2 s, 4 s …
/// up to `maxLock`). A success clears the account, not
/// the address, so one good password does not launder an address guessing at others. Pure: the caller passes
/// `now`; it keeps at most `capacity` keys, forgetting the quietest first.
public struct LoginThrottle: Sendable {
    public var freeFailures = 5
    public var maxLock: Double = 15 * 60
    public var forgetAfter: Double = 60 * 60
    public var capacity = 100_000
    private var entries: [String: Entry] = [:]

    struct Entry: Sendable {
        var failures: Int
        var lockedUntil: Date?
        var last: Date
    }

    public init() {}

    /// Until when any of `keys` is locked, or nil when a login may be tried now.
    public func lockedUntil(_ keys: [String], now: Date) -> Date? {
        keys.compactMap { entries[$0]?.lockedUntil }.filter { $0 > now }.max()
    }

    public mutating func failed(_ keys: [String], now: Date) {
        for key in keys {
            var entry = entries[key].flatMap { now.timeIntervalSince($0.last) > forgetAfter ? nil : $0 } ?? Entry(failures: 0, lockedUntil: nil, last: now)
            entry.failures += 1
            entry.last = now
            let over = entry.failures - freeFailures
            if over > 0 { entry.lockedUntil = now.addingTimeInterval(min(maxLock, Double(1 << min(over - 1, 20)))) }
            entries[key] = entry
        }
        if entries.count > capacity {
            let oldest = entries.sorted { $0.value.last < $1.value.last }.prefix(entries.count - capacity).map(\.key)
            oldest.forEach { entries[$0] = nil }
        }
    }

    public mutating func succeeded(account: String) {
        entries[account] = nil
    }

    public static func accountKey(_ user: String) -> String { "user:" + user.lowercased() }
    public static func addressKey(_ address: String) -> String { "addr:" + address }
}
