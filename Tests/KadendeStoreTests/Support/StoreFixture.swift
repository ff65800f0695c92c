import Foundation
import KadendePostgres
import KadendeStore
import Logging
import Testing

/// The store contract runs against every store: SQLite always, PostgreSQL when `scripts/test` has started one
/// (`KADENDE_TEST_POSTGRES`, a URL to a server where the test may create databases). With
/// `KADENDE_REQUIRE_POSTGRES=1` a missing PostgreSQL is a failure, not a skip.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// One store under test. `open()` again gives a second handle on the same data, as a restart or another replica
/// would see it.
final class StoreFixture: Sendable {
    let kind: StoreKind
    let directory: String
    let database: String

    /// Nil when the kind cannot run here (PostgreSQL not started and not required).
    static func make(_ kind: StoreKind) throws -> StoreFixture? {
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let fixture = StoreFixture(kind: kind, directory: FileManager.default.temporaryDirectory.appendingPathComponent("kd-store-\(id)").path,
                                   database: "kd_test_\(id)")
        switch kind {
        case .sqlite:
            try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        case .postgres:
            guard let base = postgresURL else {
                if ProcessInfo.processInfo.environment["KADENDE_REQUIRE_POSTGRES"] == "1" {
                    Issue.record("KADENDE_REQUIRE_POSTGRES=1 but KADENDE_TEST_POSTGRES is not set: run scripts/test, which starts PostgreSQL")
                }
                return nil
            }
            try psql(base, "CREATE DATABASE \(fixture.database)")
        }
        return fixture
    }

    private init(kind: StoreKind, directory: String, database: String) {
        self.kind = kind
        self.directory = directory
        self.database = database
    }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["KADENDE_TEST_POSTGRES"] }

    /// The URL of this fixture's own database.
    var url: String {
        guard var parts = URLComponents(string: Self.postgresURL ?? "") else { return "" }
        parts.path = "/" + database
        return parts.string ?? ""
    }

    func open() async throws -> any Store {
        switch kind {
        case .sqlite: return try SQLiteStore(path: directory + "/kadende.sqlite")
        case .postgres: return try await PostgresStore.open(url: url, logger: Logger(label: "kadende.test.postgres"))
        }
    }

    static func psql(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw StoreError(.database, "psql \(sql): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
