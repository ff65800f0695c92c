import ArgumentParser
import Foundation
import KadendeAPI
import KadendeAuth
import KadendeModel
import KadendePostgres
import KadendeStore
import KadendeSupport
import Logging

/// Tokens `kadende login` saved, by coordinator URL, in `~/.config/kadende/tokens.json` (0600).
enum SavedTokens {
    static var path: String {
        let config = ProcessEnvironment.value("XDG_CONFIG_HOME") ?? ((ProcessEnvironment.value("HOME") ?? NSHomeDirectory()) + "/.config")
        return config + "/kadende/tokens.json"
    }

    static func load() -> [String: String] {
        guard let bytes = try? SecureFile.read(path) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
    }

    static func save(_ tokens: [String: String]) throws {
        try SecureFile.makeDirectory((path as NSString).deletingLastPathComponent)
        try SecureFile.write(Array(try JSONEncoder().encode(tokens)), to: path, mode: 0o600)
    }
}

/// A password from standard input: one line, without echo when it is a terminal.
func readPassword(prompt: String) throws -> String {
    if isatty(0) == 1 {
        guard let raw = getpass(prompt) else { throw ValidationError("no password given") }
        return String(cString: raw)
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
    return line
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login",
                                                    abstract: "Log in to a coordinator; its session token is kept in ~/.config/kadende (0600).")
    @OptionGroup var options: ClientOptions
    @Option(help: "Your user name.")
    var user: String

    func run() async throws {
        let password = try readPassword(prompt: "password for \(user): ")
        let grant: APITokenGrant = try await APIClient(base: options.coordinator, ca: options.ca ?? ProcessEnvironment.value("KADENDE_CA"))
            .post("/v1/login", json: APILogin(user: user, password: password))
        guard let token = grant.token else { throw ValidationError("the coordinator answered without a token") }
        var saved = SavedTokens.load()
        saved[options.coordinator] = token
        try SavedTokens.save(saved)
        print("logged in to \(options.coordinator) as \(grant.user) until \(grant.expiresAt.map { "\($0)" } ?? "revoked")")
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "End this session and forget its token.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        var saved = SavedTokens.load()
        if let token = saved[options.coordinator] {
            let _: APITokenGrant? = try? await APIClient(base: options.coordinator, token: token, ca: options.ca ?? ProcessEnvironment.value("KADENDE_CA"))
                .delete("/v1/tokens/current")
        }
        saved[options.coordinator] = nil
        try SavedTokens.save(saved)
        print("logged out of \(options.coordinator)")
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Users and their roles.",
                                                    subcommands: [Create.self, List.self, Role.self, WhoAmI.self, Passwd.self, Disable.self,
                                                                  Enable.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. With --data-dir, directly in a coordinator's store (the first admin); otherwise through the API (admins).",
            discussion: "The password is read from standard input; with --generate-password one is made and printed once.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Flag(help: "Admins may do everything in every cluster.")
        var admin = false
        @Option(help: "The coordinator's data directory: create the user in its store, without the API.")
        var dataDir: String?
        @Option(help: "With replicas: the shared store (postgres:// URL, or KADENDE_STORE) to create the user in, without the API.")
        var store: String?
        @Flag(help: "Make a random password and print it once.")
        var generatePassword = false
        @Flag(help: "With --data-dir: also mint an API token for the user (90 days) and print it once, for scripts.")
        var printToken = false

        func run() async throws {
            let password: String
            if generatePassword {
                var rng = SystemRandomNumberGenerator()
                password = Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
            } else {
                password = try readPassword(prompt: "password for \(name): ")
            }
            let storeURL = store ?? (dataDir == nil ? ProcessInfo.processInfo.environment["KADENDE_STORE"] : nil)
            if dataDir != nil || storeURL != nil {
                try PasswordHasher.check(password)
                guard ResourceName.isValid(name) else { throw ValidationError("a user name is 1-63 lowercase letters, digits or '-'") }
                let store: any Store
                if let storeURL {
                    store = try await PostgresStore.open(url: storeURL, logger: Logger(label: "kadende.cli"))
                } else {
                    let directory = URL(fileURLWithPath: dataDir ?? ".").standardizedFileURL.path
                    try DataDirectory.makePrivate(directory)  // the first admin may come before the first start
                    store = try SQLiteStore(path: directory + "/kadende.sqlite")
                }
                let now = Date()
                _ = try await store.createUser(name: name, passwordHash: try PasswordHasher().hash(password), admin: admin, at: now)
                try await store.appendAudit(AuditEntry(at: now, actor: name, action: "user.create", target: name + (admin ? " (admin)" : ""),
                                                       outcome: "ok", source: "cli (local)"))
                print("user \(name) created\(admin ? " (admin)" : "") in \(storeURL.map(PostgresStore.redacted) ?? dataDir ?? ".")")
                if printToken {
                    let token = APIToken.mint()
                    _ = try await store.addAPIToken(hash: token.hash, shortID: token.shortID, user: name, name: "created with the user",
                                                    kind: .api, expiresAt: now.addingTimeInterval(90 * 86_400), at: now)
                    print("token: \(token.secret)")
                }
            } else {
                let user: APIUser = try await options.client.post("/v1/users", json: APIUserCreate(name: name, password: password, admin: admin))
                print("user \(user.name) created\(user.admin ? " (admin)" : "")")
            }
            if generatePassword { print("password: \(password)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and their roles (admins).")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let users: [APIUser] = try await options.client.get("/v1/users")
            try Output.print(users, format: options.output) {
                [["USER", "ADMIN", "ROLES"]] + users.map { u in
                    [u.name, u.admin ? "yes" : "", u.roles.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")]
                }
            }
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a user a role in the cluster (--cluster): viewer, operator, or none.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var role: String
        func run() async throws {
            let user: APIUser = try await options.client.put("/v1/users/\(APIClient.escape(name))/roles/\(APIClient.escape(options.cluster))",
                                                             json: APIRole(role: role == "none" ? nil : role))
            print("\(user.name) in cluster \(options.cluster): \(user.roles[options.cluster] ?? "no role")")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passwd", abstract: "Change your password (current, then new, from standard input), or as an admin another user's (new only).",
            discussion: "Every session of the user ends; API tokens stay.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The user; yourself when omitted.")
        var name: String?
        func run() async throws {
            let me: APIUser = try await options.client.get("/v1/whoami")
            let user = name ?? me.name
            let current = user == me.name ? try readPassword(prompt: "current password: ") : nil
            let password = try readPassword(prompt: "new password for \(user): ")
            let _: APIUser = try await options.client.put("/v1/users/\(APIClient.escape(user))/password",
                                                          json: APIPasswordChange(currentPassword: current, password: password))
            print("password of \(user) changed; their sessions are ended")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user (admins): no login, none of their tokens honoured.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        func run() async throws { try await UserCommand.set(name, disabled: true, options) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again (admins).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        func run() async throws { try await UserCommand.set(name, disabled: false, options) }
    }

    static func set(_ name: String, disabled: Bool, _ options: ClientOptions) async throws {
        let _: APIUser = try await options.client.patch("/v1/users/\(APIClient.escape(name))", json: APIUserUpdate(disabled: disabled))
        print("user \(name) \(disabled ? "disabled" : "enabled")")
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user with their roles and tokens (admins).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        func run() async throws {
            let _: APIUser = try await options.client.delete("/v1/users/\(APIClient.escape(name))")
            print("user \(name) deleted")
        }
    }

    struct WhoAmI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Who the token in use belongs to.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            let user: APIUser = try await options.client.get("/v1/whoami")
            try Output.print(user, format: options.output) {
                [["user", user.name], ["admin", user.admin ? "yes" : "no"]] + user.roles.sorted { $0.key < $1.key }.map { ["role in \($0.key)", $0.value] }
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "API tokens for scripts and CI.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mint a token with your rights; it is shown once.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Option(help: "Lifetime, e.g. 30d or 12h (at most 366d).")
        var expires: String = "90d"
        func run() async throws {
            guard let lifetime = Seconds(parsing: expires)?.value, lifetime > 0 else { throw ValidationError("--expires \(expires): expected a duration such as 30d") }
            let grant: APITokenGrant = try await options.client.post("/v1/tokens", json: APITokenRequest(name: name, expiresIn: lifetime))
            if options.output == .table {
                print("token \(grant.id) (\(grant.name)), expires \(grant.expiresAt.map { "\($0)" } ?? "never"); it is shown only now:")
                print(grant.token ?? "")
            } else {
                try Output.print(grant, format: options.output) { [] }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your tokens and sessions (--all: everyone's, admins).")
        @OptionGroup var options: ClientOptions
        @Flag var all = false
        func run() async throws {
            let tokens: [APITokenGrant] = try await options.client.get("/v1/tokens" + (all ? "?all=true" : ""))
            try Output.print(tokens, format: options.output) {
                [["ID", "USER", "NAME", "KIND", "EXPIRES", "REVOKED"]] + tokens.map {
                    [$0.id, $0.user, $0.name, $0.kind, $0.expiresAt.map { "\($0)" } ?? "", $0.revokedAt.map { "\($0)" } ?? ""]
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (kdk_ and 8 characters).")
        @OptionGroup var options: ClientOptions
        @Argument var id: String
        func run() async throws {
            let grant: APITokenGrant = try await options.client.delete("/v1/tokens/\(APIClient.escape(id))")
            print("token \(grant.id) of \(grant.user) revoked")
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Who did what and when (admins).")
    @OptionGroup var options: ClientOptions
    @Option(help: "Only entries after this sequence number.")
    var after: Int64 = 0
    func run() async throws {
        let entries: [APIAuditEntry] = try await options.client.get("/v1/audit?after=\(after)")
        try Output.print(entries, format: options.output) {
            [["SEQ", "AT", "ACTOR", "ACTION", "CLUSTER", "TARGET", "OUTCOME", "SOURCE"]] + entries.map {
                ["\($0.seq)", "\($0.at)", $0.actor, $0.action, $0.cluster ?? "", $0.target ?? "", $0.outcome, $0.source ?? ""]
            }
        }
    }
}
