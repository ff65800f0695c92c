import Foundation
@testable import KadendePostgres
import KadendeStore
import Logging
import PostgresNIO
import Synchronization
import Testing

/// A statement on a connection that is already closed fails at once. The pool can hand out a connection as it
/// closes (PostgreSQL restarting); postgres-nio on its own would leave such a statement unanswered and its caller
/// waiting forever, which kept `kadende server` from stopping. Real PostgreSQL, real connection; without the fix
/// the statement is still waiting after 30 s and the test fails.
@Suite(.timeLimit(.minutes(1))) struct PostgresConnectionLossTests {
    let logger = Logger(label: "kadende.test.postgres")

    @Test func aStatementOnAClosedConnectionFailsInsteadOfWaiting() async throws {
        guard let base = StoreFixture.postgresURL, let parts = URLComponents(string: base), let host = parts.host, let user = parts.user else {
            if ProcessInfo.processInfo.environment["KADENDE_REQUIRE_POSTGRES"] == "1" {
                Issue.record("KADENDE_REQUIRE_POSTGRES=1 but KADENDE_TEST_POSTGRES is not set")
            }
            return
        }
        let configuration = PostgresConnection.Configuration(host: host, port: parts.port ?? 5432, username: user, password: parts.password,
                                                             database: String(parts.path.drop { $0 == "/" }), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        let session = PGSession(connection: connection, logger: logger)
        #expect(try await session.scalar("SELECT 41 + 1", as: Int.self) == 42)

        try await connection.close()
        switch await outcome(within: .seconds(30), { try await session.query("SELECT 1") }) {
        case nil:
            Issue.record("a statement on a closed connection was still waiting after 30 s")
        case .success:
            Issue.record("a statement on a closed connection succeeded")
        case .failure(let error):
            let error = try #require(error as? StoreError, "\(error)")
            #expect(error.code == .database)
            #expect(error.description.contains("connection closed"), "\(error)")
        }
    }

    /// How `body` ended, or nil if it has not after `limit`. A lost statement ignores cancellation and never ends:
    /// it is left behind, so that the test fails instead of waiting with it.
    func outcome(within limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> Result<Void, any Error>? {
        let once = Mutex<CheckedContinuation<Result<Void, any Error>?, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            once.withLock { $0 = continuation }
            let finish: @Sendable (Result<Void, any Error>?) -> Void = { result in
                once.withLock { c -> CheckedContinuation<Result<Void, any Error>?, Never>? in defer { c = nil }; return c }?.resume(returning: result)
            }
            Task {
                do {
                    try await body()
                    finish(.success(()))
                } catch {
                    finish(.failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                finish(nil)
            }
        }
    }
}
