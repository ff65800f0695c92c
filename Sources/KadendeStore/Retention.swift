import struct Foundation.Date

/// How long the store keeps what grows with time: events and audit entries by age and by count (the audit log
/// longer, since it answers "who did that" months later), and tokens that expired or were revoked. Anyone who
/// reaches a port can make events or audit entries be written (a node, a failed login): without a retention
/// both grew without end.
public struct RetentionPolicy: Sendable, Hashable {
    public var eventAge: Double = 30 * 86_400
    public var eventCount = 1_000_000
    public var auditAge: Double = 400 * 86_400
    public var auditCount = 2_000_000
    /// Tokens past their expiry or revocation by this long are deleted (their audit entries stay).
    public var tokenAge: Double = 30 * 86_400

    public init() {}

    /// The oldest event and audit time kept, and the lowest sequence numbers kept given the newest ones.
    public func cutoffs(now: Date, newestEvent: Int64, newestAudit: Int64) -> (eventsBefore: Double, eventSeqBelow: Int64,
                                                                          auditBefore: Double, auditSeqBelow: Int64, tokensBefore: Double) {
        (now.timeIntervalSince1970 - eventAge, newestEvent - Int64(eventCount) + 1,
         now.timeIntervalSince1970 - auditAge, newestAudit - Int64(auditCount) + 1,
         now.timeIntervalSince1970 - tokenAge)
    }
}

/// What one prune removed.
public struct PruneResult: Sendable, Hashable {
    public var events = 0
    public var audit = 0
    public var tokens = 0
    public init(events: Int = 0, audit: Int = 0, tokens: Int = 0) {
        self.events = events
        self.audit = audit
        self.tokens = tokens
    }
}
