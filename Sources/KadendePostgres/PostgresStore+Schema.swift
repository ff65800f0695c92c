/// Append-only migrations: a released migration is never edited, a new one is added. The schema mirrors SQLite's
/// (times are epoch seconds as double precision, so both stores share their logic); `user` is a reserved word
/// here, hence `user_name`.
extension PostgresStore {
    static let migrations: [(name: String, sql: [String])] = [
        ("v1", [
            "CREATE TABLE clusters (name TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, node_quota INTEGER)",
            """
            CREATE TABLE groups (
              cluster TEXT NOT NULL REFERENCES clusters(name), name TEXT NOT NULL, revision INTEGER NOT NULL,
              deleted BOOLEAN NOT NULL DEFAULT FALSE, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
              config_revision INTEGER, PRIMARY KEY (cluster, name))
            """,
            """
            CREATE TABLE group_revisions (
              cluster TEXT NOT NULL, group_name TEXT NOT NULL, revision INTEGER NOT NULL, spec TEXT NOT NULL,
              created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (cluster, group_name, revision))
            """,
            """
            CREATE TABLE nodes (
              id TEXT PRIMARY KEY, cluster TEXT NOT NULL, group_name TEXT NOT NULL, revision INTEGER NOT NULL,
              state TEXT NOT NULL, state_reason TEXT NOT NULL, state_since DOUBLE PRECISION NOT NULL, instance_id TEXT,
              address TEXT, created_at DOUBLE PRECISION NOT NULL, last_heartbeat DOUBLE PRECISION, convicted_at DOUBLE PRECISION,
              labels TEXT NOT NULL DEFAULT '{}')
            """,
            "CREATE INDEX nodes_by_group ON nodes(cluster, group_name, state)",
            """
            CREATE TABLE node_events (
              seq BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, cluster TEXT NOT NULL, group_name TEXT NOT NULL,
              node_id TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL)
            """,
            "CREATE INDEX events_by_group ON node_events(cluster, group_name, seq)",
            """
            CREATE TABLE enrolment_tokens (
              hash TEXT PRIMARY KEY, node_id TEXT NOT NULL REFERENCES nodes(id), expires_at DOUBLE PRECISION NOT NULL,
              used_at DOUBLE PRECISION)
            """,
            "CREATE INDEX tokens_by_node ON enrolment_tokens(node_id)",
            """
            CREATE TABLE certificates (
              serial TEXT PRIMARY KEY, node_id TEXT NOT NULL REFERENCES nodes(id), not_before DOUBLE PRECISION NOT NULL,
              not_after DOUBLE PRECISION NOT NULL, revoked BOOLEAN NOT NULL DEFAULT FALSE)
            """,
            "CREATE INDEX certificates_by_node ON certificates(node_id)",
            """
            CREATE TABLE config_revisions (
              cluster TEXT NOT NULL, group_name TEXT NOT NULL, revision INTEGER NOT NULL, content TEXT NOT NULL,
              digest TEXT NOT NULL, message TEXT, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (cluster, group_name, revision))
            """,
            """
            CREATE TABLE rollouts (
              id BIGSERIAL PRIMARY KEY, cluster TEXT NOT NULL, group_name TEXT NOT NULL, revision INTEGER NOT NULL,
              previous INTEGER, kind TEXT NOT NULL, target TEXT NOT NULL, policy TEXT NOT NULL, state TEXT NOT NULL,
              reason TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)
            """,
            "CREATE INDEX rollouts_by_group ON rollouts(cluster, group_name, id)",
            """
            CREATE TABLE node_config (
              node_id TEXT PRIMARY KEY REFERENCES nodes(id), desired INTEGER, rollout BIGINT, pushed_at DOUBLE PRECISION,
              reported TEXT, reported_at DOUBLE PRECISION, failure TEXT)
            """,
            """
            CREATE TABLE cluster_secrets (
              cluster TEXT NOT NULL REFERENCES clusters(name), name TEXT NOT NULL, sealed BYTEA NOT NULL, summary TEXT NOT NULL,
              updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (cluster, name))
            """,
            """
            CREATE TABLE users (
              name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin BOOLEAN NOT NULL DEFAULT FALSE,
              disabled BOOLEAN NOT NULL DEFAULT FALSE, created_at DOUBLE PRECISION NOT NULL)
            """,
            """
            CREATE TABLE memberships (
              user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, cluster TEXT NOT NULL, role TEXT NOT NULL,
              PRIMARY KEY (user_name, cluster))
            """,
            """
            CREATE TABLE api_tokens (
              hash TEXT PRIMARY KEY, short_id TEXT NOT NULL, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
              name TEXT NOT NULL, kind TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION,
              revoked_at DOUBLE PRECISION, last_used_at DOUBLE PRECISION)
            """,
            "CREATE INDEX api_tokens_by_user ON api_tokens(user_name)",
            """
            CREATE TABLE audit_log (
              seq BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, cluster TEXT,
              target TEXT, outcome TEXT NOT NULL, source TEXT)
            """,
            "INSERT INTO clusters(name, created_at) VALUES ('default', extract(epoch FROM now()))",
        ]),
        // Replicas and the group leases they hold (see PostgresStore+Leases).
        ("v2-leases", [
            "CREATE TABLE replicas (id TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL)",
            """
            CREATE TABLE group_leases (
              cluster TEXT NOT NULL, group_name TEXT NOT NULL, owner TEXT NOT NULL, term BIGINT NOT NULL,
              expires_at TIMESTAMPTZ NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (cluster, group_name))
            """,
        ]),
        // Replicas relay desired revisions in the order they were set (see Store.desiredSince).
        ("v3-desired-order", [
            "ALTER TABLE node_config ADD COLUMN desired_seq BIGINT",
            "CREATE INDEX node_config_by_desired_seq ON node_config(desired_seq)",
        ]),
        // Unique token ids, and events and audit entries indexed by time for retention (see SQLite's v7).
        ("v4-token-ids-retention", [
            """
            UPDATE api_tokens SET short_id = 'kdk_' || substr(hash, 1, 16)
              WHERE short_id IN (SELECT short_id FROM api_tokens GROUP BY short_id HAVING count(*) > 1)
            """,
            "CREATE UNIQUE INDEX api_tokens_by_short_id ON api_tokens(short_id)",
            "CREATE INDEX events_by_time ON node_events(at)",
            "CREATE INDEX audit_by_time ON audit_log(at)",
        ]),
        // The key a token was spent for (see SQLite's v8).
        ("v5-enrolment-keys", ["ALTER TABLE enrolment_tokens ADD COLUMN key_sha256 TEXT"]),
    ]

    /// Applies the migrations not applied yet, each in its own transaction, under the write lock: replicas that
    /// start together migrate once.
    public func migrate() async throws {
        try await write { db in
            try await db.query("CREATE TABLE IF NOT EXISTS kadende_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = Set(try await db.query("SELECT name FROM kadende_migrations").map { try $0.get("name", as: String.self) })
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.sql { try await db.query(statement) }
                try await db.query("INSERT INTO kadende_migrations(name) VALUES ($1)", [migration.name])
            }
        }
    }
}
