import Foundation
import KadendeAPI
import Testing

extension AuthTests {
    /// Clusters are tenants: admins create and delete them, members see only theirs, nothing lands in a cluster
    /// nobody created, and a cluster goes only once it is empty, taking its members with it.
    @Test func clustersAreTenantsThatAdminsCreateAndDeleteOnceEmpty() async throws {
        let dir = try Paths.temporaryDirectory("auth-tenants")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        let tokens = try await world(server, dir)
        func clusters(_ user: String) throws -> [APICluster] {
            try JSONDecoder.api.decode([APICluster].self, from: Data(try http(server, "GET", "/v1/clusters", token: tokens[user]).body.utf8))
        }

        #expect(try clusters("admin").map(\.name) == ["a", "b", "default"])
        #expect(try clusters("vera").map(\.name) == ["a"], "a member sees only the clusters they belong to")
        let a = try #require(try clusters("otto").first)
        #expect(a.members == [APIMember(user: "otto", role: "operator"), APIMember(user: "vera", role: "viewer")] && a.groups == 1)
        #expect(try server.cli(["cluster", "list", "--token", tokens["bob"]!]).contains("bob (operator)"))
        #expect(try http(server, "POST", "/v1/clusters", token: tokens["otto"], body: #"{"name": "c"}"#).status == 403)

        // Nothing names a cluster nobody created.
        let stray = try curlYAML(server, "/v1/groups", "name: web\ncluster: nosuch\nprovider: process\nsize: {desired: 0, min: 0, max: 1}\n",
                                 token: tokens["admin"])
        #expect(stray.status == 404 && stray.body.contains("kadende cluster create nosuch"), "\(stray)")
        #expect(try http(server, "PUT", "/v1/users/vera/roles/nosuch", token: tokens["admin"], body: #"{"role": "viewer"}"#).status == 404)
        #expect(try http(server, "PUT", "/v1/clusters/nosuch/quota", token: tokens["admin"], body: #"{"nodes": 3}"#).status == 404)
        #expect(try http(server, "POST", "/v1/clusters", token: tokens["admin"], body: #"{"name": "a"}"#).status == 409)
        #expect(try http(server, "POST", "/v1/clusters", token: tokens["admin"], body: #"{"name": "Not A Name"}"#).status == 400)
        #expect(try http(server, "DELETE", "/v1/clusters/default", token: tokens["admin"]).status == 409)

        // b goes only once its group and nodes have gone; bob's role in it goes with it.
        let busy = try http(server, "DELETE", "/v1/clusters/b", token: tokens["admin"])
        #expect(busy.status == 409 && busy.body.contains("still has groups (web)"), "\(busy)")
        #expect(try http(server, "DELETE", "/v1/groups/web?cluster=b", token: tokens["bob"]).status == 200)
        try await eventually("the deleted group is purged and b deleted") {
            try http(server, "DELETE", "/v1/clusters/b", token: tokens["admin"]).status == 200
        }
        #expect(try http(server, "GET", "/v1/clusters/b", token: tokens["admin"]).status == 404)
        let bob = try JSONDecoder.api.decode(APIUser.self, from: Data(try http(server, "GET", "/v1/whoami", token: tokens["bob"]).body.utf8))
        #expect(bob.roles.isEmpty, "\(bob)")
        #expect(try clusters("bob").isEmpty)
        let audit = try http(server, "GET", "/v1/audit", token: tokens["admin"]).body
        #expect(audit.contains("\"action\":\"cluster.create\"") && audit.contains("\"action\":\"cluster.delete\""))
    }
}
