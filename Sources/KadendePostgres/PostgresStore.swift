import KadendeModel
import KadendeStore
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
    let logger: Logger
    private let runner: Task<Void, Never>
    public let events = EventBus()

    /// The advisory lock every write takes (an arbitrary constant: "KADE").
    static let writeLock: Int64 = 0x4B414445

    /// `url`: `postgres://user:password@host:port/database`. Connects lazily; `migrate()` checks the server.
    public init(url: String, logger: Logger) throws {
        self.client = PostgresClient(configuration: try Self.configuration(url), backgroundLogger: logger)
        self.logger = logger
        let client = self.client
        // The client's pool runs until the store is shut down.
        self.runner = Task { await client.run() }
    }

    /// Opens the store and brings its schema up to date (replicas starting together migrate once).
    public static func open(url: String, logger: Logger) async throws -> PostgresStore {
        let store = try PostgresStore(url: url, logger: logger)
        do {
            try await store.migrate()
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
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The URL without its password, for messages.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "an unreadable URL" }
        if parts.password != nil { parts.password = "…" }
        return parts.string ?? "an unreadable URL"
    }

    // MARK: Transactions

    func read<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await body(PGSession(connection: connection, logger: self.logger))
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// One transaction, serialised with every other write of every replica.
    func write<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                let session = PGSession(connection: connection, logger: self.logger)
                try await session.query("SELECT pg_advisory_xact_lock($1)", [Self.writeLock])
                try await Self.checkFence(session)
                return try await body(session)
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Like `write`, but gives up at once (nil) when another write holds the lock, instead of queueing behind it.
    func writeIfFree<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T? {
        do {
            return try await client.withTransaction(logger: logger) { connection -> T? in
                let session = PGSession(connection: connection, logger: self.logger)
                guard try await session.scalar("SELECT pg_try_advisory_xact_lock($1)", [Self.writeLock], as: Bool.self) == true else { return nil }
                try await Self.checkFence(session)
                return try await body(session)
            }
        } catch {
            throw Self.mapped(error)
        }
    }

    /// Store errors pass through (also from inside a transaction); the database's become `database` errors that
    /// say what failed without the statement's values.
    static func mapped(_ error: any Error) -> any Error {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError { return mapped(inner) }
            if let begin = error.beginError { return mapped(begin) }
            if let commit = error.commitError { return mapped(commit) }
        }
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
