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

    @discardableResult
    func query(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> [PGRow] {
        var bindings = PostgresBindings()
        for argument in arguments { argument.bind(&bindings) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        return try await rows.collect().map { PGRow(row: $0.makeRandomAccess()) }
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
