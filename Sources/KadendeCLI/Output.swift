import ArgumentParser
import Foundation
import KadendeAPI
import KadendeSupport
import Yams

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}

/// Prints API values as an aligned table for people, or as JSON / YAML for scripts.
enum Output {
    static func print<T: Encodable>(_ value: T, format: OutputFormat, table: () -> [[String]]) throws {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = APIDates.encoding
            emit(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
        case .yaml:
            let encoder = YAMLEncoder()
            encoder.options.sortKeys = true
            emit(try encoder.encode(value))
        case .table:
            emit(render(table()))
        }
    }

    /// Unbuffered, so `events --follow` shows each event as it happens even into a pipe.
    static func emit(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// A cell of text that came from the coordinator, hence perhaps from a node or a user: control characters
    /// escaped, so a reason or an output cannot forge lines or drive the terminal.
    static func clean(_ text: String) -> String { OutsideText.sanitized(text, limit: 16_384) }

    static func render(_ rows: [[String]]) -> String {
        let rows = rows.map { $0.map(clean) }
        guard !rows.isEmpty else { return "" }
        // Sections of one table may have different columns: every column is as wide as its widest cell.
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        for row in rows {
            // A row's last cell is never padded, so it does not widen its column (a long message, a title row).
            for (i, cell) in row.enumerated() where i < row.count - 1 { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            out += cells.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// An event row with fixed column widths (SEQ, TIME, GROUP, NODE, EVENT), for streams.
    static func fixedRow(_ row: [String]) -> String {
        let widths = [6, 20, 12, 18, 16]
        return row.map(clean).enumerated().map { i, cell in
            i < widths.count ? cell.padding(toLength: max(widths[i], cell.count), withPad: " ", startingAt: 0) : cell
        }.joined(separator: "  ") + "\n"
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func ago(_ date: Date?) -> String {
        guard let date else { return "-" }
        let s = Date().timeIntervalSince(date)
        if s < 60 { return String(format: "%.1fs", max(s, 0)) }
        if s < 3600 { return "\(Int(s / 60))m" }
        return "\(Int(clamping: s / 3600, to: 0...Int(Int32.max)))h"
    }

    static func groupRows(_ groups: [APIGroup]) -> [[String]] {
        [["CLUSTER", "GROUP", "REV", "PROVIDER", "DESIRED", "MIN", "MAX", "HEALTHY", "NODES"]] + groups.map { g in
            let states = g.nodes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return [g.cluster, g.name + (g.deleted ? " (deleting)" : ""), "\(g.revision)", g.provider, "\(g.size.desired)",
                    "\(g.size.min)", "\(g.size.max)", "\(g.healthy)", states.isEmpty ? "-" : states]
        }
    }

    static func nodeRows(_ nodes: [APINode]) -> [[String]] {
        [["NODE", "GROUP", "STATE", "CONNECTED", "HEARTBEAT", "INSTANCE", "REASON"]] + nodes.map { n in
            [n.id, n.group, n.state.rawValue, n.connected ? "yes" : "no", Output.ago(n.lastHeartbeat), n.instanceID ?? "-", n.reason]
        }
    }

    static func eventRows(_ events: [APIEvent], header: Bool = true) -> [[String]] {
        (header ? [["SEQ", "TIME", "GROUP", "NODE", "EVENT", "REASON"]] : []) + events.map { e in
            ["\(e.seq)", Output.time(e.at), e.group, e.nodeID ?? "-", e.kind.rawValue, e.reason]
        }
    }
}
