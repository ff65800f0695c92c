/// A spec the coordinator refuses. It names the key path and, when the spec came from YAML, the line, so that a
/// user can fix the file without guessing.
public struct SpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        case malformedYAML = "malformed_yaml"
        case unknownKey = "unknown_key"
        case missingKey = "missing_key"
        case badValue = "bad_value"
    }

    public var code: Code
    /// Dotted key path, e.g. `health.heartbeatTimeout` or `bootstrap.files[1].path`.
    public var path: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(_ code: Code, path: String, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var where_ = path.isEmpty ? "spec" : path
        if let line { where_ += " (line \(line)\(column.map { ", column \($0)" } ?? ""))" }
        return "\(code.rawValue): \(where_): \(message)"
    }
}
