import Foundation
import KadendeAPI
import Testing

/// Users, roles and tokens against a real `kadende server`, over its real HTTP API (curl, so that every header is
/// what a client sends): the role × endpoint matrix, cross-cluster isolation, throttled logins, revoked and expired
/// tokens, the audit trail, and no secret in the log.
@Suite(.serialized) struct AuthTests {
    struct Answer { var status: Int; var body: String }

    func http(_ server: ServerProcess, _ method: String, _ path: String, token: String?, body: String? = nil,
              contentType: String = "application/json") throws -> Answer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", server.url + path]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body { arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", body] }
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return Answer(status: status, body: String(text.dropLast(String(status).count + 1)))
    }

    func login(_ server: ServerProcess, _ user: String, _ password: String) throws -> String {
        let answer = try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "\#(user)", "password": "\#(password)"}"#)
        guard answer.status == 201, let grant = try? JSONDecoder.api.decode(APITokenGrant.self, from: Data(answer.body.utf8)), let token = grant.token else {
            throw CLIError(message: "login \(user): \(answer.status) \(answer.body)")
        }
        return token
    }

    /// Users vera (viewer of a), otto (operator of a), bob (operator of b), each logged in; groups web in a and b.
    func world(_ server: ServerProcess, _ dir: String) async throws -> [String: String] {
        try await server.start()
        for cluster in ["a", "b"] { try server.cli(["cluster", "create", cluster]) }
        for (user, cluster, role) in [("vera", "a", "viewer"), ("otto", "a", "operator"), ("bob", "b", "operator")] {
            try server.cli(["user", "create", user], input: "password-of-\(user)\n")
            try server.cli(["user", "role", user, role, "--cluster", cluster])
        }
        for cluster in ["a", "b"] {
            try "name: web\ncluster: \(cluster)\nprovider: process\nsize: {desired: 0, min: 0, max: 2}\n"
                .write(toFile: dir + "/\(cluster).yaml", atomically: true, encoding: .utf8)
            try server.cli(["group", "apply", "-f", dir + "/\(cluster).yaml"])
        }
        var tokens = ["admin": try #require(server.token)]
        for user in ["vera", "otto", "bob"] { tokens[user] = try login(server, user, "password-of-\(user)") }
        return tokens
    }

    @Test func everyRoleMayDoWhatItsRoleAllowsAndNothingInAnotherCluster() async throws {
        let dir = try Paths.temporaryDirectory("auth")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await world(server, dir)

        // Each endpoint, the least role it needs (nil: admins only), for cluster a; b's are the same with b.
        func endpoints(_ c: String) -> [(String, String, String?, String?)] {
            [
                ("GET", "/v1/groups?cluster=\(c)", nil, "viewer"),
                ("GET", "/v1/groups/web?cluster=\(c)", nil, "viewer"),
                ("GET", "/v1/nodes?cluster=\(c)&group=web", nil, "viewer"),
                ("GET", "/v1/events?cluster=\(c)", nil, "viewer"),
                ("GET", "/v1/groups/web/config/status?cluster=\(c)", nil, "viewer"),
                ("GET", "/v1/groups/web/config/revisions?cluster=\(c)", nil, "viewer"),
                ("GET", "/v1/clusters/\(c)", nil, "viewer"),
                ("POST", "/v1/groups/web/config/rollout/pause?cluster=\(c)", nil, "operator"),
                ("POST", "/v1/groups/web/config/rollback?cluster=\(c)&to=9", nil, "operator"),
                ("DELETE", "/v1/groups/nosuch?cluster=\(c)", nil, "operator"),
                ("POST", "/v1/groups/web/scale?cluster=\(c)", #"{"desired": 0}"#, "operator"),
                ("PUT", "/v1/clusters/\(c)/quota", #"{"nodes": 50}"#, nil),
                ("PUT", "/v1/clusters/\(c)/credentials/process", #"{"values": {"k": "v"}}"#, nil),
                // Creating is global; deleting a cluster that still has a group is refused (409) even to admins.
                ("POST", "/v1/clusters", #"{"name": "more-\#(c)"}"#, nil),
                ("DELETE", "/v1/clusters/\(c)", nil, nil),
            ]
        }
        let roles: [String: [String: String]] = ["vera": ["a": "viewer"], "otto": ["a": "operator"], "bob": ["b": "operator"]]
        func allowed(_ user: String, _ cluster: String, _ needs: String?) -> Bool {
            if user == "admin" { return true }
            guard let needs, let held = roles[user]?[cluster] else { return false }
            return needs == "viewer" || held == "operator"
        }
        var checked = 0
        for cluster in ["a", "b"] {
            for (method, path, body, needs) in endpoints(cluster) {
                for user in ["admin", "vera", "otto", "bob"] {
                    let answer = try http(server, method, path, token: tokens[user], body: body)
                    if allowed(user, cluster, needs) {
                        #expect(answer.status != 403 && answer.status != 401 && answer.status < 500, "\(user) \(method) \(path): \(answer.status) \(answer.body)")
                    } else {
                        #expect(answer.status == 403, "\(user) \(method) \(path) should be refused: \(answer.status) \(answer.body)")
                        #expect(answer.body.contains("forbidden"))
                    }
                    checked += 1
                }
            }
        }
        #expect(checked == 120)
        // Group specs and pushes name their cluster in the body or the path.
        for (user, cluster, expected) in [("otto", "a", 200), ("otto", "b", 403), ("vera", "a", 403), ("bob", "b", 200)] {
            let apply = "name: web\ncluster: \(cluster)\nprovider: process\nsize: {desired: 0, min: 0, max: 3}\n"
            let answer = try curlYAML(server, "/v1/groups", apply, token: tokens[user])
            #expect(answer.status == expected, "\(user) applies in \(cluster): \(answer.status) \(answer.body)")
            let push = try curlYAML(server, "/v1/groups/web/config?cluster=\(cluster)", "files:\n  - {path: /etc/x.conf, content: x}\n", token: tokens[user])
            #expect(push.status == (expected == 200 ? 201 : 403), "\(user) pushes in \(cluster): \(push.status) \(push.body)")
        }
        // Admin-only endpoints.
        for path in ["/v1/users", "/v1/audit", "/metrics", "/v1/tokens?all=true"] {
            #expect(try http(server, "GET", path, token: tokens["admin"]).status == 200, "\(path)")
            for user in ["vera", "otto", "bob"] { #expect(try http(server, "GET", path, token: tokens[user]).status == 403, "\(user) \(path)") }
        }
        #expect(try http(server, "PUT", "/v1/users/vera/roles/a", token: tokens["otto"], body: #"{"role": "operator"}"#).status == 403)

        // A member of a sees nothing of b, even where no cluster is named.
        let ottoGroups = try JSONDecoder.api.decode([APIGroup].self, from: Data(try http(server, "GET", "/v1/groups", token: tokens["otto"]).body.utf8))
        #expect(ottoGroups.map(\.cluster) == ["a"], "\(ottoGroups.map(\.cluster))")
        let ottoEvents = try JSONDecoder.api.decode([APIEvent].self, from: Data(try http(server, "GET", "/v1/events", token: tokens["otto"]).body.utf8))
        #expect(!ottoEvents.isEmpty && ottoEvents.allSatisfy { $0.cluster == "a" })
        let whoami = try http(server, "GET", "/v1/whoami", token: tokens["bob"])
        #expect(whoami.body.contains("\"bob\"") && whoami.body.contains("\"b\":\"operator\""), "\(whoami.body)")

        // Without a token, or with a forged one: 401.
        #expect(try http(server, "GET", "/v1/groups?cluster=a", token: nil).status == 401)
        #expect(try http(server, "GET", "/v1/groups?cluster=a", token: "kdk_" + String(repeating: "0", count: 64)).status == 401)
        #expect(try http(server, "GET", "/v1/health", token: nil).status == 200)

        // Refusals are on the record.
        let audit = try http(server, "GET", "/v1/audit", token: tokens["admin"]).body
        #expect(audit.contains("\"actor\":\"vera\"") && audit.contains("\"outcome\":\"forbidden\""))
        #expect(audit.contains("\"action\":\"config.push\"") && audit.contains("\"action\":\"group.apply\"") && audit.contains("\"action\":\"login\""))
    }

    /// Accounts over the API: a password change (one's own needs the current one) ends sessions, an admin disables,
    /// enables and deletes users but never the last admin, each with its audit entry; and a node in a cluster the
    /// caller may not read answers exactly as one that does not exist. Defends against accounts that could neither
    /// change a password nor be disabled or deleted, and against node ids probed across tenants (404 or 403).
    @Test func accountsChangeTheirPasswordsAdminsDisableAndDeleteThemAndNodesOfOtherTenantsAreNotThere() async throws {
        let dir = try Paths.temporaryDirectory("accounts")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        var tokens = try await world(server, dir)
        let password = #"{"currentPassword": "password-of-vera", "password": "a new long password"}"#
        #expect(try http(server, "PUT", "/v1/users/vera/password", token: tokens["vera"], body: password.replacingOccurrences(of: "of-vera", with: "wrong")).status == 403)
        #expect(try http(server, "PUT", "/v1/users/vera/password", token: tokens["otto"], body: #"{"password": "otto sets it"}"#).status == 403)
        #expect(try http(server, "PUT", "/v1/users/vera/password", token: tokens["vera"], body: password).status == 200)
        #expect(try http(server, "GET", "/v1/whoami", token: tokens["vera"]).status == 401, "the change ended her session")
        tokens["vera"] = try login(server, "vera", "a new long password")
        #expect(try http(server, "PUT", "/v1/users/otto/password", token: tokens["admin"], body: #"{"password": "set by an admin"}"#).status == 200)
        #expect(try http(server, "GET", "/v1/whoami", token: tokens["otto"]).status == 401)

        #expect(try http(server, "PATCH", "/v1/users/bob", token: tokens["otto"], body: #"{"disabled": true}"#).status == 401, "otto's session ended")
        #expect(try http(server, "PATCH", "/v1/users/bob", token: tokens["vera"], body: #"{"disabled": true}"#).status == 403)
        #expect(try http(server, "PATCH", "/v1/users/bob", token: tokens["admin"], body: #"{"disabled": true}"#).status == 200)
        #expect(try http(server, "GET", "/v1/whoami", token: tokens["bob"]).status == 401)
        #expect(try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "bob", "password": "password-of-bob"}"#).status == 401)
        #expect(try http(server, "PATCH", "/v1/users/bob", token: tokens["admin"], body: #"{"disabled": false}"#).status == 200)
        tokens["bob"] = try login(server, "bob", "password-of-bob")
        #expect(try http(server, "PATCH", "/v1/users/admin", token: tokens["admin"], body: #"{"disabled": true}"#).status == 409, "the last admin stays")
        #expect(try http(server, "DELETE", "/v1/users/admin", token: tokens["admin"]).status == 409)
        #expect(try http(server, "DELETE", "/v1/users/vera", token: tokens["admin"]).status == 200)
        #expect(try http(server, "GET", "/v1/whoami", token: tokens["vera"]).status == 401)
        let audit = try http(server, "GET", "/v1/audit?limit=5000", token: tokens["admin"]).body
        for action in ["user.password", "user.disable", "user.enable", "user.delete"] { #expect(audit.contains("\"\(action)\""), "\(action)") }

        // A node of cluster a, asked for by bob (operator of b only): the very answer of a node that does not exist.
        #expect(try http(server, "POST", "/v1/groups/web/scale?cluster=a", token: tokens["admin"], body: #"{"desired": 1}"#).status == 200)
        var nodeID = ""
        try await eventually("a node of a exists") {
            let nodes = try JSONDecoder.api.decode([APINode].self, from: Data(try http(server, "GET", "/v1/nodes?cluster=a", token: tokens["admin"]).body.utf8))
            nodeID = nodes.first?.id ?? ""
            return !nodeID.isEmpty
        }
        let hidden = try http(server, "GET", "/v1/nodes/\(nodeID)", token: tokens["bob"])
        let missing = try http(server, "GET", "/v1/nodes/n-ffffffffffffffff", token: tokens["bob"])
        #expect(hidden.status == 404 && missing.status == 404)
        #expect(hidden.body.replacingOccurrences(of: nodeID, with: "ID") == missing.body.replacingOccurrences(of: "n-ffffffffffffffff", with: "ID"))
        let terminate = try http(server, "DELETE", "/v1/nodes/\(nodeID)", token: tokens["bob"])
        #expect(terminate.status == 404, "\(terminate)")
        #expect(try http(server, "GET", "/v1/nodes/\(nodeID)", token: tokens["admin"]).status == 200)
    }

    @Test func theLiveEventStreamShowsOnlyWhatTheCallerMayRead() async throws {
        let dir = try Paths.temporaryDirectory("auth-stream")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await world(server, dir)
        let cursor = try server.events(group: "web").last?.seq ?? 0
        // otto (operator of a) follows every cluster he may read.
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "-H", "Authorization: Bearer \(tokens["otto"]!)", server.url + "/v1/events/stream?after=\(cursor)"]
        let file = dir + "/stream.txt"
        FileManager.default.createFile(atPath: file, contents: nil)
        curl.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try curl.run()
        // SIGKILL: children of the test process inherit its ignored SIGTERM.
        defer { kill(curl.processIdentifier, SIGKILL) }
        // b changes first, then a: when a's change arrives, b's would have arrived before it had it leaked.
        for cluster in ["b", "a"] {
            try "name: web\ncluster: \(cluster)\nprovider: process\nsize: {desired: 0, min: 0, max: 4}\n"
                .write(toFile: dir + "/\(cluster)2.yaml", atomically: true, encoding: .utf8)
            try server.cli(["group", "apply", "-f", dir + "/\(cluster)2.yaml"])
        }
        try await eventually("a's change streams") {
            (try String(contentsOfFile: file, encoding: .utf8)).contains("revision 2: size 0 (min 0, max 4)")
        }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("event: group.applied\n") && text.contains("\"cluster\":\"a\""), "\(text)")
        #expect(!text.contains("\"cluster\":\"b\""), "nothing of cluster b: \(text)")
        #expect(try http(server, "GET", "/v1/events/stream?cluster=a", token: tokens["bob"]).status == 403)
        #expect(try http(server, "GET", "/v1/events/stream", token: nil).status == 401)
    }

    @Test func theAPIOverTLSIsTrustedThroughTheCoordinatorsCAAndOffLoopbackOnlyWithTLS() async throws {
        let dir = try Paths.temporaryDirectory("auth-tls")
        let server = ServerProcess(dataDirectory: dir + "/data")
        server.extraArguments = ["--api-tls", "ca"]
        server.scheme = "https"
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try await server.start()
        #expect(try server.cli(["user", "whoami"]).contains("admin"), "the CLI trusts the coordinator's CA (KADENDE_CA)")

        func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["KADENDE_CA"] = nil
            env.merge(environment) { _, new in new }
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        // Without the CA the certificate is not trusted; plain HTTP gets no API.
        let untrusted = try run(Paths.kadende, ["user", "whoami", "--coordinator", server.url, "--token", try #require(server.token)])
        #expect(untrusted.0 != 0 && untrusted.1.lowercased().contains("certificate"), "\(untrusted.1)")
        let plain = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.httpPort)/v1/health"])
        #expect(plain.1 != "200", "plain HTTP answered: \(plain.1)")
        let verified = try run("/usr/bin/curl", ["-s", "--cacert", server.dataDirectory + "/pki/ca.pem", server.url + "/v1/health"])
        #expect(verified.1.contains("ok"), "\(verified.1)")

        // An API reachable from other machines without TLS is refused at start, saying why.
        let open = try run(Paths.kadende, ["server", "--data-dir", dir + "/other", "--listen-http", "0.0.0.0:0", "--listen-agents", "127.0.0.1:0",
                                           "--agent-path", Paths.agent])
        #expect(open.0 != 0 && open.1.contains("serve it with --api-tls ca"), "\(open.1)")
    }

    @Test func theServedOpenAPIDocumentIsDocsOpenAPIAndItsGetEndpointsAnswerAsDocumented() async throws {
        let dir = try Paths.temporaryDirectory("openapi")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await world(server, dir)
        let served = try http(server, "GET", "/v1/openapi.json", token: nil)
        #expect(served.status == 200)
        let kept = try String(contentsOfFile: Paths.root.appendingPathComponent("docs/openapi.json").path, encoding: .utf8)
        #expect(served.body == kept, "the coordinator serves docs/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(kept.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var checked = 0
        for (path, operations) in paths.sorted(by: { $0.key < $1.key }) where !path.contains("{") && path != "/v1/events/stream" {
            guard let get = operations["get"] as? [String: Any], let responses = get["responses"] as? [String: Any],
                  let success = responses.keys.first(where: { $0 != "default" }) else { continue }
            let answer = try http(server, "GET", path + (path.hasPrefix("/v1/groups") || path == "/v1/nodes" ? "?cluster=a" : ""), token: tokens["admin"])
            #expect("\(answer.status)" == success, "GET \(path): \(answer.status) \(answer.body.prefix(200))")
            let content = ((responses[success] as? [String: Any])?["content"] as? [String: Any]) ?? [:]
            if let json = (content["application/json"] as? [String: Any])?["schema"] as? [String: Any] {
                let body = try JSONSerialization.jsonObject(with: Data(answer.body.utf8), options: [.fragmentsAllowed])
                #expect((json["type"] as? String == "array") == (body is [Any]), "GET \(path): the body's shape is the documented one")
            }
            checked += 1
        }
        #expect(checked >= 10, "\(checked) endpoints checked")
    }

    func curlYAML(_ server: ServerProcess, _ path: String, _ yaml: String, token: String?) throws -> Answer {
        try http(server, "POST", path, token: token, body: yaml, contentType: "application/yaml")
    }

    @Test func wrongPasswordsAreThrottledAndRevokedOrExpiredTokensRefused() async throws {
        let dir = try Paths.temporaryDirectory("auth-throttle")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await world(server, dir)

        // Wrong passwords: refused, then throttled; while throttled even the right one waits.
        for _ in 0..<5 {
            #expect(try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "otto", "password": "guess-guess-guess"}"#).status == 401)
        }
        var throttled: Answer?
        for _ in 0..<12 where throttled == nil {
            let answer = try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "otto", "password": "guess-guess-guess"}"#)
            if answer.status == 429 { throttled = answer } else { #expect(answer.status == 401) }
        }
        #expect(throttled?.body.contains("too many failed logins") == true, "\(String(describing: throttled))")
        #expect(try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "otto", "password": "password-of-otto"}"#).status == 429)
        #expect(try http(server, "POST", "/v1/login", token: nil, body: #"{"user": "nobody", "password": "whatever-whatever"}"#).status == 429,
                "the address is throttled too, whatever account it tries")

        // A token minted, used, revoked: refused from then on.
        let minted = try http(server, "POST", "/v1/tokens", token: tokens["vera"], body: #"{"name": "ci", "expiresIn": 3600}"#)
        let grant = try JSONDecoder.api.decode(APITokenGrant.self, from: Data(minted.body.utf8))
        let secret = try #require(grant.token)
        #expect(secret.hasPrefix("kdk_") && grant.id.hasPrefix("tok_") && !secret.contains(grant.id.dropFirst(4)), "the id says nothing of the secret")
        #expect(try http(server, "GET", "/v1/whoami", token: secret).status == 200)
        #expect(!(try http(server, "GET", "/v1/tokens", token: tokens["vera"]).body.contains(secret)), "a token is shown once")
        #expect(try http(server, "DELETE", "/v1/tokens/\(grant.id)", token: tokens["otto"]).status == 404, "otto cannot revoke vera's token")
        #expect(try http(server, "DELETE", "/v1/tokens/\(grant.id)", token: tokens["vera"]).status == 200)
        #expect(try http(server, "GET", "/v1/whoami", token: secret).status == 401)

        // A token that expires: refused once it has.
        let short = try JSONDecoder.api.decode(APITokenGrant.self, from: Data(
            try http(server, "POST", "/v1/tokens", token: tokens["vera"], body: #"{"name": "short", "expiresIn": 1}"#).body.utf8))
        let shortSecret = try #require(short.token)
        try await eventually("the short token has expired", limit: .seconds(30)) {
            try http(server, "GET", "/v1/whoami", token: shortSecret).status == 401
        }
        #expect(try http(server, "POST", "/v1/tokens", token: tokens["vera"], body: #"{"name": "forever", "expiresIn": 0}"#).status == 400)

        // No password and no token in any log line.
        let log = try String(contentsOfFile: server.dataDirectory + "/server.log", encoding: .utf8)
        for secret in ["password-of-otto", "password-of-vera", "guess-guess-guess", secret, shortSecret] + Array(tokens.values) {
            #expect(!log.contains(secret), "the log holds a secret")
        }
        let audit = try http(server, "GET", "/v1/audit", token: tokens["admin"]).body
        #expect(audit.contains("\"outcome\":\"throttled\"") && audit.contains("\"outcome\":\"wrong user or password\""))
        #expect(audit.contains("\"action\":\"token.create\"") && audit.contains("\"action\":\"token.revoke\""))
        #expect(!audit.contains(secret))
    }
}

extension JSONDecoder {
    static let api: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = APIDates.decoding
        return d
    }()
}
