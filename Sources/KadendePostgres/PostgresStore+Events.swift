import KadendeModel
import KadendeStore
import Logging
import PostgresNIO
import Synchronization

/// Where the event follower is in `node_events`: nil until the store is open.
final class EventCursor: Sendable {
    let position = Mutex<Int64?>(nil)
}

/// Live events from every replica, in the store's order. Subscribers (`/v1/events/stream`, long polls, `--follow`)
/// get events from a follower that reads `node_events` past the last one it published: woken at once by this
/// replica's commits, and every `followEvery` for the others'. An event's position is taken under the write lock,
/// so positions commit in order and the follower never passes one that commits later; this replica's events wait
/// for one read, which keeps them in line with the others' instead of ahead of them.
extension PostgresStore {
    static let followEvery: Duration = .milliseconds(250)
    static let followPage = 1_000

    /// After a commit with events: the follower publishes them.
    func committed(_ events: [NodeEvent]) {
        if !events.isEmpty { wake.yield() }
    }

    /// Subscribers see what commits from now on (what came before is in `listEvents`).
    func startFollowing() async throws {
        let latest = try await read { db in try await db.scalar("SELECT coalesce(max(seq), 0) FROM node_events", as: Int64.self) } ?? 0
        followed.position.withLock { $0 = $0 ?? latest }
    }

    static func follow(_ pool: PostgresClient, from cursor: EventCursor, to bus: EventBus, wakes: AsyncStream<Void>, logger: Logger) async {
        for await _ in wakes {
            guard let after = cursor.position.withLock({ $0 }) else { continue }
            do {
                // Nobody listening (the usual case between dashboards): move past what committed without reading it.
                // Asked after the position is read: a subscriber that came before that is served below, and one that
                // comes after reads everything up to the position from the store (`listEvents`) itself.
                if !bus.hasSubscribers {
                    let latest = try await pool.withConnection { connection in
                        try await PGSession(connection: connection, logger: logger).scalar("SELECT coalesce(max(seq), 0) FROM node_events", as: Int64.self)
                    } ?? after
                    if !bus.hasSubscribers {
                        cursor.position.withLock { $0 = max($0 ?? latest, latest) }
                        continue
                    }
                }
                var position = after
                // Page through a burst (a pass creating thousands of nodes) before waiting again.
                while true {
                    let page = try await pool.withConnection { connection in
                        try await PGSession(connection: connection, logger: logger)
                            .query("SELECT * FROM node_events WHERE seq > $1 ORDER BY seq LIMIT $2", [position, followPage])
                            .map(Self.eventRecord)
                    }
                    guard let last = page.last else { break }
                    position = last.seq
                    cursor.position.withLock { $0 = position }
                    bus.publish(page)
                    if page.count < followPage { break }
                }
            } catch {
                // The next wake tries again from the same place: nothing is skipped.
                logger.warning("cannot read events to publish", metadata: ["error": "\(Self.mapped(error))"])
            }
        }
    }
}
