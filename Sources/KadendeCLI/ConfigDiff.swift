import KadendeWire

/// A readable difference between two revisions: files line by line, then environment, commands, service
/// actions and probes.
enum ConfigDiff {
    static func render(_ a: ConfigRevision, _ b: ConfigRevision, fromName: String, toName: String) -> String {
        var out = ""
        let filesA = Dictionary(a.files.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
        let filesB = Dictionary(b.files.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
        for path in Set(filesA.keys).union(filesB.keys).sorted() {
            switch (filesA[path], filesB[path]) {
            case (nil, let new?): out += "+ file \(path) (mode \(String(new.mode, radix: 8)))\n" + lines(new.content).map { "+ \($0)\n" }.joined()
            case (_?, nil): out += "- file \(path)\n"
            case (let old?, let new?) where old != new:
                out += "~ file \(path)"
                if old.mode != new.mode { out += " mode \(String(old.mode, radix: 8)) → \(String(new.mode, radix: 8))" }
                if old.owner != new.owner || old.group != new.group { out += " owner \(old.owner ?? "-"):\(old.group ?? "-") → \(new.owner ?? "-"):\(new.group ?? "-")" }
                out += "\n"
                if old.content != new.content { out += lineDiff(lines(old.content), lines(new.content)) }
            default: break
            }
        }
        for key in Set(a.environment.keys).union(b.environment.keys).sorted() where a.environment[key] != b.environment[key] {
            switch (a.environment[key], b.environment[key]) {
            case (nil, let v?): out += "+ env \(key)=\(v)\n"
            case (let v?, nil): out += "- env \(key)=\(v)\n"
            case (let v?, let w?): out += "~ env \(key)=\(v) → \(w)\n"
            default: break
            }
        }
        out += listDiff("command", a.commands.map { "\($0.name): \($0.command.joined(separator: " "))\($0.user.map { " (as \($0))" } ?? "")" },
                        b.commands.map { "\($0.name): \($0.command.joined(separator: " "))\($0.user.map { " (as \($0))" } ?? "")" })
        out += listDiff("service", a.services.map { "\($0.name): \($0.argv.joined(separator: " "))" },
                        b.services.map { "\($0.name): \($0.argv.joined(separator: " "))" })
        if a.probes != b.probes {
            out += "~ probes: \(a.probes.map { $0.map(\.name).joined(separator: ",") } ?? "the group's") → \(b.probes.map { $0.map(\.name).joined(separator: ",") } ?? "the group's")\n"
        }
        return out.isEmpty ? "\(fromName) and \(toName) have the same content\n" : "--- \(fromName)\n+++ \(toName)\n" + out
    }

    static func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func listDiff(_ kind: String, _ a: [String], _ b: [String]) -> String {
        let removed = a.filter { !b.contains($0) }.map { "- \(kind) \($0)\n" }
        let added = b.filter { !a.contains($0) }.map { "+ \(kind) \($0)\n" }
        return (removed + added).joined()
    }

    /// Longest-common-subsequence line diff; large files are summarised instead of compared cell by cell.
    static func lineDiff(_ a: [Substring], _ b: [Substring]) -> String {
        guard a.count * b.count <= 4_000_000 else { return "  (\(a.count) → \(b.count) lines; too large to compare line by line)\n" }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var out = ""
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                i += 1; j += 1
            } else if j < b.count, i == a.count || table[i][j + 1] >= table[i + 1][j] {
                out += "  + \(b[j])\n"; j += 1
            } else {
                out += "  - \(a[i])\n"; i += 1
            }
        }
        return out
    }
}
