import GRDB

extension SQLiteStore {
    /// Append-only migrations: a released migration is never edited, a new one is added.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE clusters (
                  name TEXT PRIMARY KEY,
                  created_at REAL NOT NULL
                );
                CREATE TABLE groups (
                  cluster TEXT NOT NULL REFERENCES clusters(name),
                  name TEXT NOT NULL,
                  revision INTEGER NOT NULL,
                  deleted INTEGER NOT NULL DEFAULT 0,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL,
                  PRIMARY KEY (cluster, name)
                );
                CREATE TABLE group_revisions (
                  cluster TEXT NOT NULL,
                  group_name TEXT NOT NULL,
                  revision INTEGER NOT NULL,
                  spec TEXT NOT NULL,
                  created_at REAL NOT NULL,
                  PRIMARY KEY (cluster, group_name, revision)
                );
                CREATE TABLE nodes (
                  id TEXT PRIMARY KEY,
                  cluster TEXT NOT NULL,
                  group_name TEXT NOT NULL,
                  revision INTEGER NOT NULL,
                  state TEXT NOT NULL,
                  state_reason TEXT NOT NULL,
                  state_since REAL NOT NULL,
                  instance_id TEXT,
                  address TEXT,
                  created_at REAL NOT NULL,
                  last_heartbeat REAL
                );
                CREATE INDEX nodes_by_group ON nodes(cluster, group_name, state);
                CREATE TABLE node_events (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  at REAL NOT NULL,
                  cluster TEXT NOT NULL,
                  group_name TEXT NOT NULL,
                  node_id TEXT,
                  kind TEXT NOT NULL,
                  reason TEXT NOT NULL
                );
                CREATE INDEX events_by_group ON node_events(cluster, group_name, seq);
                CREATE TABLE enrolment_tokens (
                  hash TEXT PRIMARY KEY,
                  node_id TEXT NOT NULL REFERENCES nodes(id),
                  expires_at REAL NOT NULL,
                  used_at REAL
                );
                CREATE INDEX tokens_by_node ON enrolment_tokens(node_id);
                CREATE TABLE certificates (
                  serial TEXT PRIMARY KEY,
                  node_id TEXT NOT NULL REFERENCES nodes(id),
                  not_before REAL NOT NULL,
                  not_after REAL NOT NULL,
                  revoked INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX certificates_by_node ON certificates(node_id);
                INSERT INTO clusters(name, created_at) VALUES ('default', strftime('%s', 'now'));
                """)
        }
        // Convictions drive the replacement budget and the crash-loop backoff, which must survive a restart.
        migrator.registerMigration("v2-convicted-at") { db in
            try db.execute(sql: "ALTER TABLE nodes ADD COLUMN convicted_at REAL")
        }
        // Configuration revisions, rollouts and what each node should run and said it runs; node labels for
        // targeting; the group's last good revision, which new nodes receive.
        migrator.registerMigration("v3-config") { db in
            try db.execute(sql: """
                CREATE TABLE config_revisions (
                  cluster TEXT NOT NULL,
                  group_name TEXT NOT NULL,
                  revision INTEGER NOT NULL,
                  content TEXT NOT NULL,
                  digest TEXT NOT NULL,
                  message TEXT,
                  created_at REAL NOT NULL,
                  PRIMARY KEY (cluster, group_name, revision)
                );
                CREATE TABLE rollouts (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  cluster TEXT NOT NULL,
                  group_name TEXT NOT NULL,
                  revision INTEGER NOT NULL,
                  previous INTEGER,
                  kind TEXT NOT NULL,
                  target TEXT NOT NULL,
                  policy TEXT NOT NULL,
                  state TEXT NOT NULL,
                  reason TEXT NOT NULL,
                  created_at REAL NOT NULL,
                  updated_at REAL NOT NULL
                );
                CREATE INDEX rollouts_by_group ON rollouts(cluster, group_name, id);
                CREATE TABLE node_config (
                  node_id TEXT PRIMARY KEY REFERENCES nodes(id),
                  desired INTEGER,
                  rollout INTEGER,
                  pushed_at REAL,
                  reported TEXT,
                  reported_at REAL,
                  failure TEXT
                );
                ALTER TABLE groups ADD COLUMN config_revision INTEGER;
                ALTER TABLE nodes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
                """)
        }
        // Clusters own their provider credentials (sealed: see SecretBox) and a node quota.
        migrator.registerMigration("v4-cluster-secrets") { db in
            try db.execute(sql: """
                CREATE TABLE cluster_secrets (
                  cluster TEXT NOT NULL REFERENCES clusters(name),
                  name TEXT NOT NULL,
                  sealed BLOB NOT NULL,
                  summary TEXT NOT NULL,
                  updated_at REAL NOT NULL,
                  PRIMARY KEY (cluster, name)
                );
                ALTER TABLE clusters ADD COLUMN node_quota INTEGER;
                """)
        }
        // Users, their role in each cluster, their API tokens and sessions (hashes only), and the audit log.
        migrator.registerMigration("v5-users") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                  name TEXT PRIMARY KEY,
                  password_hash TEXT NOT NULL,
                  admin INTEGER NOT NULL DEFAULT 0,
                  disabled INTEGER NOT NULL DEFAULT 0,
                  created_at REAL NOT NULL
                );
                CREATE TABLE memberships (
                  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                  cluster TEXT NOT NULL,
                  role TEXT NOT NULL,
                  PRIMARY KEY (user, cluster)
                );
                CREATE TABLE api_tokens (
                  hash TEXT PRIMARY KEY,
                  short_id TEXT NOT NULL,
                  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                  name TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  created_at REAL NOT NULL,
                  expires_at REAL,
                  revoked_at REAL,
                  last_used_at REAL
                );
                CREATE INDEX tokens_by_user ON api_tokens(user);
                CREATE TABLE audit_log (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  at REAL NOT NULL,
                  actor TEXT NOT NULL,
                  action TEXT NOT NULL,
                  cluster TEXT,
                  target TEXT,
                  outcome TEXT NOT NULL,
                  source TEXT
                );
                """)
        }
        // Replicas relay desired revisions in the order they were set (see Store.desiredSince).
        migrator.registerMigration("v6-desired-order") { db in
            try db.execute(sql: """
                ALTER TABLE node_config ADD COLUMN desired_seq INTEGER;
                CREATE INDEX node_config_by_desired_seq ON node_config(desired_seq);
                """)
        }
        // Tokens get ids of their own, unique (they were the secret's first characters, which two tokens can share;
        // such pairs are renamed from their hashes), and events and audit entries an index by time for retention.
        migrator.registerMigration("v7-token-ids-retention") { db in
            try db.execute(sql: """
                UPDATE api_tokens SET short_id = 'kdk_' || substr(hash, 1, 16)
                  WHERE short_id IN (SELECT short_id FROM api_tokens GROUP BY short_id HAVING count(*) > 1);
                CREATE UNIQUE INDEX api_tokens_by_short_id ON api_tokens(short_id);
                CREATE INDEX events_by_time ON node_events(at);
                CREATE INDEX audit_by_time ON audit_log(at);
                """)
        }
        // The key a token was spent for, so that an enrolment whose answer was lost can be answered again.
        migrator.registerMigration("v8-enrolment-keys") { db in
            try db.execute(sql: "ALTER TABLE enrolment_tokens ADD COLUMN key_sha256 TEXT")
        }
        return migrator
    }
}
