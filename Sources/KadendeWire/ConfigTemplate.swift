/// File templates over node facts: `{{ node.id }}` is replaced by the fact's value; nothing else is special.
/// The coordinator checks every reference when a revision is pushed, the agent renders on the node, so an
/// unknown fact is refused before anything is applied anywhere.
public enum ConfigTemplate {
    /// Facts a template may reference. The agent knows the first four itself; the coordinator tells it the rest
    /// in `Welcome.facts`.
    public static let knownFacts: [String] = [
        "node.id", "node.hostname", "node.arch", "revision", "node.group", "node.cluster", "node.address",
    ]

    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    enum Piece: Equatable {
        case text(Substring)
        case fact(String)
    }

    /// The facts a template references, in order; throws on an unclosed `{{` or an unknown fact.
    public static func references(in template: String) throws(Failure) -> [String] {
        try parse(template).compactMap { if case .fact(let name) = $0 { name } else { nil } }
    }

    public static func render(_ template: String, facts: [String: String]) throws(Failure) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count)
        for piece in try parse(template) {
            switch piece {
            case .text(let text): out += text
            case .fact(let name):
                guard let value = facts[name] else { throw Failure(message: "fact \(name) is not known on this node") }
                out += value
            }
        }
        return out
    }

    static func parse(_ template: String) throws(Failure) -> [Piece] {
        var pieces: [Piece] = []
        var rest = Substring(template)
        while let open = rest.firstRange("{{") {
            pieces.append(.text(rest[..<open.lowerBound]))
            let after = rest[open.upperBound...]
            guard let close = after.firstRange("}}") else {
                let line = template[..<open.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).count
                throw Failure(message: "line \(line): \"{{\" is never closed by \"}}\"")
            }
            let name = after[..<close.lowerBound].trimmingSpaces
            guard knownFacts.contains(name) else {
                let line = template[..<open.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).count
                throw Failure(message: "line \(line): unknown fact \"\(name.prefix(64))\" (known facts: \(knownFacts.joined(separator: ", ")))")
            }
            pieces.append(.fact(name))
            rest = after[close.upperBound...]
        }
        pieces.append(.text(rest))
        return pieces
    }
}

extension Substring {
    /// The first occurrence of a two-character marker (no Foundation here).
    func firstRange(_ marker: String) -> Range<Index>? {
        let m = Array(marker)
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == m[0], next < endIndex, self[next] == m[1] { return i..<index(after: next) }
            i = next
        }
        return nil
    }

    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
