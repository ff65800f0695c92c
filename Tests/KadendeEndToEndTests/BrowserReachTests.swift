import Foundation
import KadendeAuth
import Testing

/// What a web page elsewhere can make a browser send to a coordinator on 127.0.0.1. Defends against DNS rebinding
/// (a page whose name resolves to 127.0.0.1 reads the API: any Host was served) and a cross-site "simple" login
/// request (text/plain needs no preflight) that could lock 127.0.0.1 out with failed logins.
@Suite struct BrowserReachTests {
    func curl(_ url: String, _ arguments: [String]) async throws -> (status: Int, body: String) {
        try await Curl.http(url, arguments)
    }

    @Test func onlyKnownHostNamesAndJSONLoginsAreServed() async throws {
        let c = try await InProcessCoordinator(label: "browser")
        defer { Task { await c.stop() } }
        let hash = try PasswordHasher().hash("correct horse battery")
        _ = try await c.store.createUser(name: "admin", passwordHash: hash, admin: true, at: c.now)
        let base = "http://127.0.0.1:\(try #require(await c.coordinator.httpPort()))"

        let rebound = try await curl(base + "/v1/health", ["-H", "Host: attacker.example"])
        #expect(rebound.status == 421 && rebound.body.contains("unknown_host"), "\(rebound)")
        let ported = try await curl(base + "/ui/", ["-H", "Host: attacker.example:7080"])
        #expect(ported.status == 421)
        #expect(try await curl(base + "/v1/health", ["-H", "Host: localhost:1"]).status == 200)
        #expect(try await curl(base + "/v1/health", []).status == 200)

        // Ten cross-site simple requests with a wrong password: refused before any password is checked.
        for _ in 0..<10 {
            let simple = try await curl(base + "/v1/login", ["-X", "POST", "-H", "Content-Type: text/plain", "--data", #"{"user":"admin","password":"wrong"}"#])
            #expect(simple.status == 415, "\(simple)")
        }
        // So nothing was counted against the account or the address: the owner still logs in.
        let login = try await curl(base + "/v1/login", ["-X", "POST", "-H", "Content-Type: application/json",
                                                   "--data", #"{"user":"admin","password":"correct horse battery"}"#])
        #expect(login.status == 201, "\(login)")
        await c.stop()
    }
}
