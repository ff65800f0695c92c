import KadendeAPI
import KadendeAuth
import KadendeHTTP
import KadendeModel
import KadendeStore
import KadendeSupport
import NIOPosix
import struct Foundation.Date

extension CoordinatorAPI {
    static let sessionLifetime: Double = 12 * 3600
    static let defaultTokenLifetime: Double = 90 * 86_400

    func authenticate(token: String) async throws(APIError) -> Principal {
        let refused = APIError(status: 401, code: "unauthenticated", message: "the token is unknown, expired or revoked")
        guard APIToken.isWellFormed(token) else { throw refused }
        guard let (user, record) = try await call({ try await store.authenticate(tokenHash: APIToken.hash(token), now: coordinator.configuration.now()) }) else {
            throw refused
        }
        var principal = Self.principal(user)
        principal.tokenID = record.shortID
        return principal
    }

    static func principal(_ user: UserRecord) -> Principal {
        Principal(user: user.name, admin: user.admin, roles: user.roles.compactMapValues(Role.init(rawValue:)))
    }

    /// The caller, if they may do `action` in `cluster`; 403 otherwise (and the refusal is audited).
    @discardableResult
    func require(_ action: Action, in cluster: String, target: String? = nil) async throws(APIError) -> Principal {
        guard let principal = Principal.current else {
            throw APIError(status: 401, code: "unauthenticated", message: "this needs a token")
        }
        guard principal.may(action, in: cluster) else {
            if action != .read {
                await record(principal.user, "\(action.rawValue)", cluster: cluster, target: target, outcome: "forbidden")
            }
            let needs = action.minimumRole.map { "the \($0.rawValue) role in cluster \(cluster)" } ?? "an admin"
            throw APIError(status: 403, code: "forbidden", message: "\(principal.user) may not \(action.rawValue) in cluster \(cluster): that needs \(needs)")
        }
        return principal
    }

    /// Admins only, whatever the cluster.
    @discardableResult
    func requireAdmin(_ what: String) async throws(APIError) -> Principal {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        guard principal.admin else {
            await record(principal.user, what, outcome: "forbidden")
            throw APIError(status: 403, code: "forbidden", message: "\(principal.user) may not \(what): that needs an admin")
        }
        return principal
    }

    /// Writes an audit entry; a failure to write it is logged, never shown to the caller as theirs.
    func record(_ actor: String, _ action: String, cluster: String? = nil, target: String? = nil, outcome: String = "ok") async {
        do {
            try await store.appendAudit(AuditEntry(at: coordinator.configuration.now(), actor: actor, action: action, cluster: cluster,
                                                   target: target, outcome: outcome, source: Peer.address))
        } catch {
            coordinator.configuration.logger.error("audit entry not written", metadata: ["action": "\(action)", "error": "\(error)"])
        }
    }

    /// The caller's name for the audit log.
    var actor: String { Principal.current?.user ?? "anonymous" }

    /// An audit entry for a peer nobody has authenticated yet, within what `SharedWriteAllowance` lets it write.
    func recordUnauthenticated(_ actor: String, _ action: String, outcome: String) async {
        let (allowed, leftOut) = coordinator.unauthenticatedWrites.take(source: Peer.address ?? "unknown",
                                                                        now: coordinator.configuration.now().timeIntervalSince1970)
        guard allowed else { return }
        await record(OutsideText.sanitized(actor, limit: 64), action, outcome: SharedWriteAllowance.outcome(outcome, leftOut: leftOut))
    }

    func login(_ login: APILogin) async throws(APIError) -> APITokenGrant {
        let now = coordinator.configuration.now()
        // No account has a longer name, and no password is longer: refused before anything is kept or checked.
        guard login.user.utf8.count <= 64, login.password.utf8.count <= PasswordHasher.maximumLength else {
            await recordUnauthenticated(login.user, "login", outcome: "user name or password too long")
            throw APIError(status: 401, code: "unauthenticated", message: "wrong user or password")
        }
        let keys = [LoginThrottle.accountKey(login.user), LoginThrottle.addressKey(Peer.address ?? "unknown")]
        // Tries while locked count as failures too: hammering only lengthens the wait, and no password is checked.
        let locked = coordinator.throttle.withLock { t -> Date? in
            guard t.lockedUntil(keys, now: now) != nil else { return nil }
            t.failed(keys, now: now)
            return t.lockedUntil(keys, now: now)
        }
        if let until = locked {
            await recordUnauthenticated(login.user, "login", outcome: "throttled")
            throw APIError(status: 429, code: "throttled",
                           message: "too many failed logins for this account or address; try again in \(Int(until.timeIntervalSince(now).rounded(.up)))s")
        }
        let found = try await call { try await store.userCredentials(name: login.user) }
        let password = login.password
        // scrypt takes a tenth of a second and 32 MiB: off the cooperative pool. An unknown user costs the same as
        // a wrong password, so timing does not tell which names exist.
        let stored = found.map(\.1) ?? Self.decoyHash
        let matches = (try? await NIOThreadPool.singleton.runIfActive { coordinator.passwords.verify(password, against: stored) }) ?? false
        guard let (user, _) = found, matches, !user.disabled else {
            coordinator.throttle.withLock { $0.failed(keys, now: now) }
            await recordUnauthenticated(login.user, "login", outcome: "wrong user or password")
            throw APIError(status: 401, code: "unauthenticated", message: "wrong user or password")
        }
        coordinator.throttle.withLock { $0.succeeded(account: keys[0]) }
        let token = APIToken.mint()
        let record = try await call {
            try await store.addAPIToken(hash: token.hash, shortID: token.shortID, user: user.name, name: "login from \(Peer.address ?? "unknown")",
                                        kind: .session, expiresAt: now.addingTimeInterval(Self.sessionLifetime), at: now)
        }
        await self.record(user.name, "login")
        return Self.grant(record, secret: token.secret)
    }

    func whoami() async throws(APIError) -> APIUser {
        guard let principal = Principal.current,
              let (user, _) = try await call({ try await store.userCredentials(name: principal.user) }) else {
            throw APIError(status: 401, code: "unauthenticated", message: "this needs a token")
        }
        return Self.apiUser(user)
    }

    func users() async throws(APIError) -> [APIUser] {
        try await requireAdmin("list users")
        return try await call { try await store.users() }.map(Self.apiUser)
    }

    func createUser(_ create: APIUserCreate) async throws(APIError) -> APIUser {
        let admin = try await requireAdmin("create users")
        guard ResourceName.isValid(create.name) else {
            throw APIError.badRequest("bad_value", "a user name is 1-63 lowercase letters, digits or '-'")
        }
        let hash = try await hashPassword(create.password)
        let user = try await call { try await store.createUser(name: create.name, passwordHash: hash, admin: create.admin ?? false, at: coordinator.configuration.now()) }
        await record(admin.user, "user.create", target: create.name + ((create.admin ?? false) ? " (admin)" : ""))
        return Self.apiUser(user)
    }

    func setRole(user: String, cluster: String, role: String?) async throws(APIError) -> APIUser {
        let admin = try await requireAdmin("change roles")
        try Self.checkName(cluster)
        if let role, Role(rawValue: role) == nil || role == "admin" {
            throw APIError.badRequest("bad_value", "role must be viewer or operator (admins are admins everywhere), or null to remove it")
        }
        try await call { try await store.setRole(user: user, cluster: cluster, role: role) }
        await record(admin.user, "user.role", cluster: cluster, target: "\(user) → \(role ?? "none")")
        guard let (updated, _) = try await call({ try await store.userCredentials(name: user) }) else { throw APIError.notFound("user \(user) does not exist") }
        return Self.apiUser(updated)
    }

    func setPassword(user: String, change: APIPasswordChange) async throws(APIError) -> APIUser {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        let own = principal.user == user
        if !own { try await requireAdmin("set another user's password") }
        guard let (target, storedHash) = try await call({ try await store.userCredentials(name: user) }) else {
            throw APIError.notFound("user \(OutsideText.sanitized(user, limit: 64)) does not exist")
        }
        // One's own password changes only with the current one, even for an admin: a stolen session is not enough.
        if own {
            let current = change.currentPassword ?? ""
            var matches = false
            if current.utf8.count <= PasswordHasher.maximumLength {
                matches = (try? await NIOThreadPool.singleton.runIfActive { coordinator.passwords.verify(current, against: storedHash) }) ?? false
            }
            guard matches else {
                await record(principal.user, "user.password", target: user, outcome: "wrong current password")
                throw APIError(status: 403, code: "forbidden", message: "the current password is wrong")
            }
        }
        let hash = try await hashPassword(change.password)
        try await call { try await store.setPassword(user: user, passwordHash: hash) }
        await record(principal.user, "user.password", target: user)
        return Self.apiUser(target)
    }

    func updateUser(name: String, update: APIUserUpdate) async throws(APIError) -> APIUser {
        let admin = try await requireAdmin(update.disabled ? "disable users" : "enable users")
        let updated = try await call { try await store.setDisabled(user: name, disabled: update.disabled) }
        await record(admin.user, update.disabled ? "user.disable" : "user.enable", target: name)
        return Self.apiUser(updated)
    }

    func deleteUser(name: String) async throws(APIError) -> APIUser {
        let admin = try await requireAdmin("delete users")
        let deleted = try await call { try await store.deleteUser(name) }
        await record(admin.user, "user.delete", target: name)
        return Self.apiUser(deleted)
    }

    /// scrypt off the cooperative pool, after the password rules.
    func hashPassword(_ password: String) async throws(APIError) -> String {
        do {
            try PasswordHasher.check(password)
            return try await NIOThreadPool.singleton.runIfActive { try coordinator.passwords.hash(password) }
        } catch let refusal as PasswordHasher.Refusal {
            throw APIError.badRequest("weak_password", refusal.description)
        } catch {
            throw APIError.internalError("the password could not be hashed")
        }
    }

    func createToken(_ request: APITokenRequest) async throws(APIError) -> APITokenGrant {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        guard !request.name.isEmpty, request.name.count <= 100 else { throw APIError.badRequest("bad_value", "a token's name is 1 to 100 characters") }
        let lifetime = request.expiresIn ?? Self.defaultTokenLifetime
        guard lifetime >= 1, lifetime <= 366 * 86_400 else {
            throw APIError.badRequest("bad_value", "expiresIn is 1 s to 366 days; tokens always expire")
        }
        let now = coordinator.configuration.now()
        let token = APIToken.mint()
        let stored = try await call {
            try await store.addAPIToken(hash: token.hash, shortID: token.shortID, user: principal.user, name: request.name, kind: .api,
                                        expiresAt: now.addingTimeInterval(lifetime), at: now)
        }
        await record(principal.user, "token.create", target: "\(token.shortID) \(request.name)")
        return Self.grant(stored, secret: token.secret)
    }

    func tokens(all: Bool) async throws(APIError) -> [APITokenGrant] {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        if all { try await requireAdmin("list everyone's tokens") }
        return try await call { try await store.tokens(user: all ? nil : principal.user) }.map { Self.grant($0, secret: nil) }
    }

    func revokeToken(id: String) async throws(APIError) -> APITokenGrant {
        guard let principal = Principal.current else { throw APIError(status: 401, code: "unauthenticated", message: "this needs a token") }
        // `current`: the token this request came with (a logout).
        let id = id == "current" ? (principal.tokenID ?? id) : id
        let revoked = try await call {
            try await store.revokeToken(shortID: id, user: principal.admin ? nil : principal.user, at: coordinator.configuration.now())
        }
        await record(principal.user, "token.revoke", target: "\(id) of \(revoked.user)")
        return Self.grant(revoked, secret: nil)
    }

    func audit(after: Int64, limit: Int) async throws(APIError) -> [APIAuditEntry] {
        try await requireAdmin("read the audit log")
        return try await call { try await store.audit(after: after, limit: limit) }.map {
            APIAuditEntry(seq: $0.seq, at: $0.at, actor: $0.actor, action: $0.action, cluster: $0.cluster, target: $0.target,
                          outcome: $0.outcome, source: $0.source)
        }
    }

    static func apiUser(_ user: UserRecord) -> APIUser {
        APIUser(name: user.name, admin: user.admin, disabled: user.disabled, roles: user.roles, createdAt: user.createdAt)
    }

    static func grant(_ record: TokenRecord, secret: String?) -> APITokenGrant {
        APITokenGrant(token: secret, id: record.shortID, user: record.user, name: record.name, kind: record.kind.rawValue,
                      createdAt: record.createdAt, expiresAt: record.expiresAt, revokedAt: record.revokedAt, lastUsedAt: record.lastUsedAt)
    }

    /// A hash no password matches, verified for unknown users so that they cost what a wrong password costs.
    static let decoyHash = "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}
