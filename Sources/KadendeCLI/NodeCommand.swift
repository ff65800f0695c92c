import ArgumentParser
import KadendeAPI

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Inspect nodes.", subcommands: [List.self, Get.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live nodes.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only nodes of this group.")
        var group: String?

        func run() async throws {
            var path = "/v1/nodes?cluster=\(APIClient.escape(options.cluster))"
            if let group { path += "&group=\(APIClient.escape(group))" }
            let nodes: [APINode] = try await options.client.get(path)
            try Output.print(nodes, format: options.output) { Output.nodeRows(nodes) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every health signal of a node, the verdict and its reason.")
        @OptionGroup var options: ClientOptions
        @Argument var id: String

        func run() async throws {
            let detail: APINodeDetail = try await options.client.get("/v1/nodes/\(APIClient.escape(id))")
            try Output.print(detail, format: options.output) { Output.nodeDetailRows(detail) }
        }
    }
}
