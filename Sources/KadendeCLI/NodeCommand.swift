import ArgumentParser
import KadendeAPI

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Inspect nodes.", subcommands: [List.self, Get.self, Label.self, Terminate.self])

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

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Terminate a node; its group replaces it while below its size.")
        @OptionGroup var options: ClientOptions
        @Argument var id: String

        func run() async throws {
            let node: APINode = try await options.client.delete("/v1/nodes/\(APIClient.escape(id))")
            print("node \(node.id) \(node.state.rawValue): \(Output.clean(node.reason))")
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set or remove a node's labels (key=value sets, key- removes); configuration pushes select nodes by them.")
        @OptionGroup var options: ClientOptions
        @Argument var id: String
        @Argument(help: "key=value to set, key- to remove.")
        var changes: [String]

        func run() async throws {
            var change = APILabelChange()
            for item in changes {
                if item.hasSuffix("-"), !item.contains("=") {
                    change.remove.append(String(item.dropLast()))
                } else if let eq = item.firstIndex(of: "=") {
                    change.set[String(item[..<eq])] = String(item[item.index(after: eq)...])
                } else {
                    throw ValidationError("\(item): expected key=value or key-")
                }
            }
            let node: APINode = try await options.client.put("/v1/nodes/\(APIClient.escape(id))/labels", json: change)
            if options.output == .table {
                let labels = (node.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                print("node \(node.id) labels: \(labels.isEmpty ? "none" : labels)")
            } else {
                try Output.print(node, format: options.output) { [] }
            }
        }
    }
}
