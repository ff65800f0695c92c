import KadendeModel
import Synchronization

/// Fans committed events out to live subscribers (event streams, `--follow`, tests awaiting a step). Events are
/// published only after their transaction commits, so a subscriber never sees something the store lost.
public final class EventBus: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<NodeEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    public func subscribe() -> AsyncStream<NodeEvent> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<NodeEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// Whether anyone listens: a store that has to fetch events to publish them need not when nobody does.
    public var hasSubscribers: Bool { subscribers.withLock { !$0.isEmpty } }

    /// For stores: after a commit, the events it stored.
    public func publish(_ events: [NodeEvent]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLock { Array($0.values) }
        for continuation in targets {
            for event in events { continuation.yield(event) }
        }
    }
}
