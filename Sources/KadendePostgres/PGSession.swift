import KadendeStore
import Logging
import NIOCore
import PostgresNIO

/// A value bound to a statement's `$n` placeholder.
protocol PGBindable: Sendable {
    func bind(_ bindings: inout PostgresBindings)
}

extension String: PGBindable { func bind(_ b: inout PostgresBindings) { b.append(self) } }
extension Int: PGBindable { func bind(_ b: inout PostgresBindings) { b.append(self) } }
extension Int64: PGBindable { func bind(_ b: inout PostgresBindings) { b.append(self) } }
extension Double: PGBindable { func bind(_ b: inout PostgresBindings) { b.append(self) } }
extension Bool: PGBindable { func bind(_ b: inout PostgresBindings) { b.append(self) } }
extension Optional: PGBindable where Wrapped: PGBindable {
    func bind(_ b: inout PostgresBindings) {
        if let value = self { value.bind(&b) } else { b.appendNull() }
    }
}

/// Raw bytes (`bytea`).
struct PGBytes: PGBindable {
    var bytes: [UInt8]
    func bind(_ b: inout PostgresBindings) { b.append(ByteBuffer(bytes: bytes)) }
}

/// One row, read by column name.
struct PGRow {
    let row: PostgresRandomAccessRow

    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try row[column].decode(T.self)
    }
}

/// A connection inside a store operation (a transaction for writes). SQL uses `$1`, `$2`… placeholders.
struct PGSession {
    let connection: PostgresConnection
    let logger: Logger

    /// The statement is handed to the connection on its event loop, and only while the connection is open.
    /// postgres-nio (1.33) writes a statement without a promise for the write: one that reaches a connection whose
    /// handlers are already gone (the pool leased it as it closed, as happens while PostgreSQL restarts) is never
    /// answered, and its caller waits forever. That kept an agent's enrolment, and so `kadende server`'s shutdown,
    /// waiting (`HATests`). On the event loop, an open connection still has its handler, which fails the statement
    /// if the connection closes afterwards.
    @discardableResult
    func query(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> [PGRow] {
        var bindings = PostgresBindings()
        for argument in arguments { argument.bind(&bindings) }
        let statement = PostgresQuery(unsafeSQL: sql, binds: bindings)
        let connection = self.connection, logger = self.logger
        let result = try await connection.eventLoop.flatSubmit { () -> EventLoopFuture<PostgresQueryResult> in
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(StoreError(.database, "PostgreSQL: the connection closed before the statement was sent"))
            }
            return connection.query(statement, logger: logger)
        }.get()
        return result.rows.map { PGRow(row: $0.makeRandomAccess()) }
    }

    func one(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> PGRow? {
        try await query(sql, arguments).first
    }

    /// The first column of the first row, or nil.
    func scalar<T: PostgresDecodable>(_ sql: String, _ arguments: [any PGBindable] = [], as type: T.Type = T.self) async throws -> T? {
        guard let row = try await one(sql, arguments), row.row[0].bytes != nil else { return nil }
        return try row.row[0].decode(T.self)
    }
}

/// An array (`text[]`, `float8[]`…), for statements that take a whole batch.
struct PGArray<Element: PostgresArrayEncodable & PostgresNonThrowingEncodable & Sendable>: PGBindable {
    var values: [Element]
    func bind(_ b: inout PostgresBindings) { b.append(values) }
}
