import ArgumentParser
import KadendeAPI

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Show what happened, and why.")
    @OptionGroup var options: ClientOptions
    @Option(help: "Only events of this group.")
    var group: String?
    @Option(help: "Only events after this sequence number.")
    var after: Int64 = 0
    @Flag(help: "Keep printing new events as they happen.")
    var follow = false

    func run() async throws {
        var cursor = after
        var first = true
        repeat {
            var path = "/v1/events?after=\(cursor)&limit=1000"
            if let group { path += "&group=\(APIClient.escape(group))&cluster=\(APIClient.escape(options.cluster))" }
            if follow && !first { path += "&wait=25" }
            let events: [APIEvent] = try await options.client.get(path, timeout: 60)
            if let last = events.last { cursor = last.seq }
            switch options.output {
            case .table:
                if !events.isEmpty || first { print(Output.render(Output.eventRows(events, header: first)), terminator: "") }
            case .json, .yaml:
                if follow {
                    for event in events { try Output.print(event, format: .json) { [] } }
                } else {
                    try Output.print(events, format: options.output) { [] }
                }
            }
            first = false
        } while follow && !Task.isCancelled
    }
}
