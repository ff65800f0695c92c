import Foundation
import KadendeAPI
#if canImport(Glibc)
import Glibc
#endif

/// A real `kadende server` in a network namespace this test creates, whose process nodes each get a namespace of
/// their own joined by a veth pair: every address in play belongs to a namespace the test made, and cutting a
/// node off is a real cut (link down, or an nft drop rule inside its namespace). Needs root.
final class NamespacedServer: @unchecked Sendable {
    let server: ServerProcess
    let namespace: String
    let directory: String
    private var nodesSeen: Set<String> = []

    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
    }

    init(_ label: String, extraArguments: [String] = []) throws {
        namespace = "kadende-test-\(UUID().uuidString.prefix(8).lowercased())"
        directory = try Paths.temporaryDirectory(label)
        server = ServerProcess(dataDirectory: directory + "/data", namespace: namespace)
        server.extraArguments = ["--process-network", "namespaces", "--process-subnet", "10.213.0.0/16"] + extraArguments
        try Self.ip(["netns", "add", namespace])
        try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
    }

    func start() async throws { try await server.start() }

    func apply(_ yaml: String, wait: Bool = true) async throws {
        let path = directory + "/spec-\(UUID().uuidString.prefix(6)).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", path] + (wait ? ["--wait", "--timeout", "120"] : []))
    }

    func nodes(_ group: String) throws -> [APINode] {
        let nodes = try server.nodes(group: group)
        nodesSeen.formUnion(nodes.map(\.id))
        return nodes
    }

    func node(_ id: String) throws -> APINodeDetail { try server.json(["node", "get", id]) }

    /// The coordinator's `/metrics`, fetched with curl from inside its namespace.
    func metrics() throws -> String {
        try Self.run("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/bin/curl", "-sf", "-H", "Authorization: Bearer \(server.token ?? "")", "\(server.url)/metrics"])
    }

    /// Runs `ip` inside the coordinator's mount namespace, where its `ip netns add` left the nodes' namespace
    /// names (`ip netns exec` gives the coordinator a mount namespace of its own).
    @discardableResult
    func ip(_ arguments: [String]) throws -> String {
        guard let pid = server.process?.processIdentifier else { throw CLIError(message: "server not running") }
        return try Self.run("/usr/bin/nsenter", ["-t", "\(pid)", "-m", "/usr/sbin/ip"] + arguments)
    }

    /// Takes the node's link down inside its namespace (or brings it back up).
    func setLink(_ nodeID: String, up: Bool) throws {
        try ip(["-n", "kadende-\(nodeID)", "link", "set", "kdn" + nodeID.suffix(10), up ? "up" : "down"])
    }

    /// Drops every packet into the node's namespace with an nft rule (or removes the rule).
    func setDropRule(_ nodeID: String, on: Bool) throws {
        let ns = "kadende-\(nodeID)"
        if on {
            try ip(["netns", "exec", ns, "/usr/sbin/nft", "add table inet kadende_cut"])
            try ip(["netns", "exec", ns, "/usr/sbin/nft", "add chain inet kadende_cut input { type filter hook input priority 0 ; policy drop ; }"])
        } else {
            try ip(["netns", "exec", ns, "/usr/sbin/nft", "delete table inet kadende_cut"])
        }
    }

    func cleanUp() {
        // Every node namespace the coordinator made, including nodes no test step saw (replacements in between).
        let listed = ((try? ip(["netns", "list"])) ?? "").split(whereSeparator: \.isNewline)
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("kadende-n-") }
        server.cleanUp()
        for name in Set(listed + nodesSeen.map { "kadende-\($0)" }) { _ = try? Self.ip(["netns", "del", name]) }
        _ = try? Self.ip(["netns", "del", namespace])
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String { try run("/usr/sbin/ip", arguments) }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CLIError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }
}
