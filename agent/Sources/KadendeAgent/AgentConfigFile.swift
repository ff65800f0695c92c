import KadendeWire

/// Reads `agent.yaml`. The file is flat (scalars and one list), so the agent reads it with this small reader
/// instead of linking a YAML library and full Foundation, which would triple its size on every node. It accepts
/// what Kadende writes and what a person would: `key: value`, quoted values, comments, and lists written
/// `key: [a, b]` or as `- item` lines. Anything else is an error naming the line.
enum AgentConfigFile {
    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    static func parse(_ text: String) throws -> AgentConfig {
        var scalars: [String: String] = [:]
        var lists: [String: [String]] = [:]
        var openList: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = raw.trimmingTrailingSpace()
            let content = line.trimmingLeadingSpace()
            if content.isEmpty || content.hasPrefix("#") || content == "---" { continue }
            if content.hasPrefix("- ") || content == "-" {
                guard let key = openList else { throw ParseError(line: number, message: "list item outside a list") }
                lists[key, default: []].append(try unquote(String(content.dropFirst(1)).trimmingLeadingSpace(), line: number))
                continue
            }
            guard line.first != " " else { throw ParseError(line: number, message: "unexpected indentation") }
            guard let colon = content.firstIndex(of: ":") else { throw ParseError(line: number, message: "expected key: value") }
            let key = String(content[..<colon])
            let value = String(content[content.index(after: colon)...]).trimmingLeadingSpace()
            guard Self.keys.contains(key) else {
                throw ParseError(line: number, message: "unknown key \"\(key)\" (known: \(Self.keys.sorted().joined(separator: ", ")))")
            }
            guard scalars[key] == nil, lists[key] == nil else { throw ParseError(line: number, message: "\(key) given twice") }
            openList = nil
            if value.isEmpty {
                openList = key
                lists[key] = []
            } else if value.hasPrefix("[") {
                guard value.hasSuffix("]") else { throw ParseError(line: number, message: "unclosed list") }
                lists[key] = try value.dropFirst().dropLast().split(separator: ",")
                    .map { try unquote(String($0).trimmingLeadingSpace().trimmingTrailingSpace(), line: number) }
            } else {
                scalars[key] = try unquote(value, line: number)
            }
        }
        func required(_ key: String) throws -> String {
            guard let value = scalars[key], !value.isEmpty else { throw ParseError(line: 0, message: "\(key) is required") }
            return value
        }
        return AgentConfig(nodeID: try required("nodeID"), endpoints: lists["endpoints"] ?? scalars["endpoints"].map { [$0] } ?? [],
                           caPin: try required("caPin"), token: try required("token"), dataDir: scalars["dataDir"],
                           filesRoot: scalars["filesRoot"], allowedRoots: lists["allowedRoots"] ?? scalars["allowedRoots"].map { [$0] })
    }

    static let keys: Set<String> = ["nodeID", "endpoints", "caPin", "token", "dataDir", "filesRoot", "allowedRoots"]

    private static func unquote(_ value: String, line: Int) throws -> String {
        var value = value
        // A comment starts at " #" outside quotes (plain character scan: no regex engine in the agent).
        if !value.hasPrefix("\""), !value.hasPrefix("'") {
            var previous: Character = " "
            for index in value.indices {
                if value[index] == "#" && previous == " " {
                    value = String(value[..<index])
                    break
                }
                previous = value[index]
            }
        }
        value = value.trimmingTrailingSpace()
        for quote in ["\"", "'"] where value.hasPrefix(quote) {
            guard value.count >= 2, value.hasSuffix(quote) else { throw ParseError(line: line, message: "unclosed quote") }
            let inner = String(value.dropFirst().dropLast())
            guard !inner.contains("\\") else { throw ParseError(line: line, message: "escapes are not supported") }
            return inner
        }
        return value
    }
}

extension StringProtocol {
    func trimmingLeadingSpace() -> String { String(drop { $0 == " " || $0 == "\t" }) }
    func trimmingTrailingSpace() -> String {
        var s = String(self)
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return s
    }
}
