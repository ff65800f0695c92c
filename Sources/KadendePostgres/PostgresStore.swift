import KadendeModel
import KadendeStore
import KadendeSupport
import Logging
import PostgresNIO
import struct Foundation.Date
import struct Foundation.URLComponents

/// The store on PostgreSQL, for coordinators that run as replicas of one another. Same contract as `SQLiteStore`
/// (one test suite runs against both). Every write transaction first takes one advisory lock, so writes are
/// serialised across replicas exactly as SQLite's `BEGIN IMMEDIATE` serialises them in one process: checks made
/// inside a write (the next revision number, one active rollout per group) hold until it commits.
public final class PostgresStore: Store {
    let client: PostgresClient
    /// A pool of its own for what must not wait behind writes: lease renewals and heartbeats. Writes queued for the
    /// lock hold the main pool's connections while they wait; a replica whose renewals and heartbeat flushes queued
    /// behind them would lose its groups, and its agents would look silent to the owner.
    let control: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    /// Signalled once by each pool's task just before it runs the pool: a lease before that works (it waits) but
    /// makes postgres-nio log a warning, so `open` waits for both before its first statement.
    private let poolsStarting = AsyncSemaphore(0)
    public let events = EventBus()
    let followed = EventCursor()
    /// Writes in flight from this replica: half the pool. They are serialised by the lock anyway, and one waiting
    /// for it holds a pool connection: without a cap a burst of writes (a pass creating a thousand nodes) takes every
    /// connection, and the reads of a reconcile pass queue behind it to judge heartbeats against a clock that moved
    /// on. A tighter cap parks more tasks at once in a burst, whose peak malloc keeps (2: 70 KiB per agent at 1 000).
    let writers = AsyncSemaphore(4)
    let wake: AsyncStream<Void>.Continuation

    /// The advisory lock every write takes (an arbitrary constant: "KADE").
    static let writeLock: Int64 = 0x4B414445

    /// `url`: `postgres://user:password@host:port/database`. Opens connections as they are needed (at most 8,
    /// and 3 for `control`), after one that checks the server can be used.
    public init(url: String, logger: Logger) throws {
        self.client = PostgresClient(configuration: try Self.configuration(url), backgroundLogger: logger)
        var control = try Self.configuration(url)
        control.options.maximumConnections = 3
        self.control = PostgresClient(configuration: control, backgroundLogger: logger)
        self.logger = logger
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        let (client, controlClient, events, followed, starting) = (self.client, self.control, self.events, self.followed, self.poolsStarting)
        // The pools and the event follower run until the store is shut down.
        self.runner = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await starting.signal(); await client.run() }
                group.addTask { await starting.signal(); await controlClient.run() }
                group.addTask { await Self.follow(controlClient, from: followed, to: events, wakes: wakes, logger: logger) }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: Self.followEvery)
                        wake.yield()
                    }
                }
            }
        }
    }

    /// Opens the store and brings its schema up to date (replicas starting together migrate once). A server that
    /// cannot be reached or refuses the user is an error at once: the pool alone would retry without end.
    public static func open(url: String, logger: Logger) async throws -> PostgresStore {
        try await reach(url, logger: logger)
        let store = try PostgresStore(url: url, logger: logger)
        await store.poolsStarting.wait()
        await store.poolsStarting.wait()
        do {
            try await store.migrate()
            try await store.startFollowing()
        } catch {
            store.shutdown()
            throw error
        }
        return store
    }

    public func shutdown() { runner.cancel() }

    deinit { runner.cancel() }

    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
              let host = parts.host, !host.isEmpty, let user = parts.user, !user.isEmpty else {
            throw StoreError(.database, "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, not \(Self.redacted(url))")
        }
        let database = String(parts.path.drop { $0 == "/" })
        var configuration = PostgresClient.Configuration(host: host, port: parts.port ?? 5432, username: user,
                                                         password: parts.password, database: database.isEmpty ? user : database, tls: .disable)
        // Short idle timeout, no keep-alive queries. Each time a connection goes back to the pool, the pool schedules
        // an idle-timeout timer (60 s by default) and a keep-alive timer (30 s), and a timer cancelled by the next
        // lease keeps its sleeping task allocated until its deadline: in a burst of writes (a pass creating a thousand
        // nodes) tens of thousands of them, 20 MiB at 1 000 agents that malloc keeps after they go
        // (`docs/benchmarks.md`). A connection idle for 10 s is closed instead, so none lives long enough to need a
        // keep-alive. Not a minimum of open connections: this pool stops the process on a precondition when a lease
        // finds it below its minimum, as it is while PostgreSQL restarts (`HATests`).
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        configuration.options.connectionIdleTimeout = .seconds(10)
        configuration.options.keepAliveBehavior = nil
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// One connection, made and closed: why the server cannot be used, in PostgreSQL's words or the network's.
    static func reach(_ url: String, logger: Logger) async throws {
        let pool = try configuration(url)
        var configuration = PostgresConnection.Configuration(host: pool.host ?? "", port: pool.port ?? 5432, username: pool.username,
                                                             password: pool.password, database: pool.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch let error as PSQLError {
            let why = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            throw StoreError(.database, "cannot use PostgreSQL at \(redacted(url)): \(why)")
        } catch {
            throw StoreError(.database, "cannot use PostgreSQL at \(redacted(url)): \(error)")
        }
    }

    /// The URL without its password, for messages (`***`: characters a URL keeps as they are).
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "an unreadable URL" }
        if parts.password != nil { parts.password = "***" }
        return parts.string ?? "an unreadable URL"
    }

    // MARK: Transactions

    func read<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        try await session(on: client, body)
    }

    /// Like `read`, on the control pool: for the few statements that never take the write lock and must not queue
    /// behind those that do.
    func control<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        try await session(on: control, body)
    }

    private func session<T: Sendable>(on pool: PostgresClient, _ body: (PGSession) async throws -> T) async throws -> T {
        do {
            return try await pool.withConnection { connection in
                try await body(PGSession(connection: connection, logger: self.logger))
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// One transaction, serialised with every other write of every replica.
    func write<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        await writers.wait()
        defer { Task { await writers.signal() } }
        do {
            return try await transaction(on: client) { session in
                try await session.query("SELECT pg_advisory_xact_lock($1)", [Self.writeLock])
                try await Self.checkFence(session)
                return try await body(session)
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Like `write`, but gives up at once (nil) when another write holds the lock, instead of queueing behind it;
    /// on the control pool, so it does not queue for a connection behind writes either.
    func writeIfFree<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T? {
        do {
            return try await transaction(on: control) { session -> T? in
                guard try await session.scalar("SELECT pg_try_advisory_xact_lock($1)", [Self.writeLock], as: Bool.self) == true else { return nil }
                try await Self.checkFence(session)
                return try await body(session)
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// BEGIN, the body, then COMMIT (ROLLBACK if the body fails), each through `PGSession.query`: postgres-nio's own
    /// `withTransaction` sends BEGIN and COMMIT in the way that can wait forever on a closing connection.
    private func transaction<T: Sendable>(on pool: PostgresClient, _ body: (PGSession) async throws -> T) async throws -> T {
        try await pool.withConnection { connection in
            let session = PGSession(connection: connection, logger: self.logger)
            try await session.query("BEGIN")
            let value: T
            do {
                value = try await body(session)
            } catch {
                // The body's error is the one to report; a failed ROLLBACK means the connection is gone, and the
                // server has dropped the transaction with it.
                _ = try? await session.query("ROLLBACK")
                throw error
            }
            try await session.query("COMMIT")
            return value
        }
    }

    /// Store errors pass through (also from inside a transaction); the database's become `database` errors that
    /// say what failed without the statement's values.
    static func mapped(_ error: any Error) -> any Error {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState], state == "23505" {
                return StoreError(.conflict, "already exists: \(error.serverInfo?[.message] ?? "unique constraint")")
            }
            let detail = error.serverInfo?[.message] ?? "\(error.code)"
            return StoreError(.database, "PostgreSQL: \(detail)")
        }
        return StoreError(.database, "PostgreSQL: \(error)")
    }
}
