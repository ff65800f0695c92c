import ArgumentParser
import Foundation
import KadendeAPI

struct EventsCommand: AsyncParsableCommand {
    static let lineEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = APIDates.encoding
        return e
    }()

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
                if follow {
                    // Fixed widths: rows arrive in batches that cannot be aligned with each other.
                    if first { Output.emit(Output.fixedRow(Output.eventRows([])[0])) }
                    for row in Output.eventRows(events, header: false) { Output.emit(Output.fixedRow(row)) }
                } else {
                    Output.emit(Output.render(Output.eventRows(events)))
                }
            case .json, .yaml:
                if follow {
                    // One compact JSON object per line, as log shippers expect.
                    for event in events { Output.emit(String(decoding: try Self.lineEncoder.encode(event), as: UTF8.self) + "\n") }
                } else {
                    try Output.print(events, format: options.output) { [] }
                }
            }
            first = false
        } while follow && !Task.isCancelled
    }
}
