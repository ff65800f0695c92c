import ArgumentParser
import Foundation
import KadendeAPI

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Declare and inspect groups.",
        subcommands: [Apply.self, List.self, Get.self, Scale.self, Delete.self])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or update a group from a YAML spec.")
        @OptionGroup var options: ClientOptions
        @Option(name: .shortAndLong, help: "Group spec (YAML); - for standard input.")
        var file: String
        @Flag(help: "Wait until the group has as many healthy nodes as it desires.")
        var wait = false
        @Option(help: "Seconds --wait waits at most.")
        var timeout: Double = 600

        func run() async throws {
            let yaml: String
            if file == "-" {
                yaml = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                yaml = String(decoding: data, as: UTF8.self)
            }
            let result: APIApplyResult = try await options.client.post("/v1/groups", yaml: yaml)
            if options.output == .table {
                print("group \(result.group.cluster)/\(result.group.name) \(result.changed ? "applied as revision \(result.group.revision)" : "unchanged (revision \(result.group.revision))")")
            } else {
                try Output.print(result, format: options.output) { [] }
            }
            if wait {
                try await waitHealthy(name: result.group.name, cluster: result.group.cluster)
            }
        }

        func waitHealthy(name: String, cluster: String) async throws {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let detail: APIGroupDetail = try await options.client.get("/v1/groups/\(APIClient.escape(name))?cluster=\(APIClient.escape(cluster))")
                let g = detail.group
                let live = g.nodes.values.reduce(0, +)
                if g.healthy == g.size.desired && live == g.size.desired {
                    if options.output == .table { print("\(g.healthy)/\(g.size.desired) nodes healthy") }
                    return
                }
                guard Date() < deadline else {
                    throw ValidationError("timed out after \(Int(timeout))s: \(g.healthy)/\(g.size.desired) healthy")
                }
                // Long-poll the event stream: returns as soon as anything happens to the group.
                let _: [APIEvent] = try await options.client.get(
                    "/v1/events?cluster=\(APIClient.escape(cluster))&group=\(APIClient.escape(name))&after=\(Int64.max - 1)&wait=2")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let groups: [APIGroup] = try await options.client.get("/v1/groups?cluster=\(APIClient.escape(options.cluster))")
            try Output.print(groups, format: options.output) { Output.groupRows(groups) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group, its spec and its nodes.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String

        func run() async throws {
            let detail: APIGroupDetail = try await options.client.get("/v1/groups/\(APIClient.escape(name))?cluster=\(APIClient.escape(options.cluster))")
            try Output.print(detail, format: options.output) {
                Output.groupRows([detail.group]) + [[""]] + Output.safetyRows(detail.safety) + [[""]] + Output.nodeRows(detail.nodes)
            }
        }
    }

    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a group's desired size (a new spec revision).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var desired: Int

        func run() async throws {
            let result: APIApplyResult = try await options.client.post(
                "/v1/groups/\(APIClient.escape(name))/scale?cluster=\(APIClient.escape(options.cluster))", json: APIScale(desired: desired))
            if options.output == .table {
                print(result.changed ? "group \(result.group.cluster)/\(result.group.name) scaled to \(desired) (revision \(result.group.revision))"
                                     : "group \(result.group.cluster)/\(result.group.name) already wants \(desired)")
            } else {
                try Output.print(result, format: options.output) { [] }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group: every node is terminated.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String

        func run() async throws {
            let group: APIGroup = try await options.client.delete("/v1/groups/\(APIClient.escape(name))?cluster=\(APIClient.escape(options.cluster))")
            if options.output == .table {
                print("group \(group.cluster)/\(group.name) deleted; its nodes are being terminated")
            } else {
                try Output.print(group, format: options.output) { [] }
            }
        }
    }
}
