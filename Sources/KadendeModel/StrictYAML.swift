import Yams

/// A cursor over a parsed YAML node that knows its key path, so every error says where it happened.
/// Group specs are decoded through it rather than through `Codable` because `Codable` neither rejects unknown
/// keys nor reports lines.
struct YAMLCursor {
    let node: Node
    let path: String

    var line: Int? { node.mark.map { $0.line } }
    var column: Int? { node.mark.map { $0.column } }

    func error(_ code: SpecError.Code, _ message: String) -> SpecError {
        SpecError(code, path: path, line: line, column: column, message)
    }

    /// The mapping's entries, refusing keys outside `allowed` and keys given twice.
    func mapping(allowed: Set<String>) throws -> [String: YAMLCursor] {
        guard case .mapping(let mapping) = node else { throw error(.badValue, "expected a mapping") }
        var result: [String: YAMLCursor] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else {
                throw YAMLCursor(node: keyNode, path: path).error(.badValue, "keys must be strings")
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw SpecError(.unknownKey, path: childPath, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                "unknown key \"\(key)\" (known keys: \(known))")
            }
            guard result[key] == nil else {
                throw SpecError(.badValue, path: childPath, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                "key given twice")
            }
            result[key] = YAMLCursor(node: valueNode, path: childPath)
        }
        return result
    }

    func sequence() throws -> [YAMLCursor] {
        guard case .sequence(let seq) = node else { throw error(.badValue, "expected a list") }
        return seq.enumerated().map { YAMLCursor(node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error(.badValue, "expected a string") }
        return scalar.string
    }

    func int() throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error(.badValue, "expected a whole number")
        }
        return value
    }

    func double() throws -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error(.badValue, "expected a number")
        }
        return value
    }

    func bool() throws -> Bool {
        guard case .scalar(let scalar) = node else { throw error(.badValue, "expected true or false") }
        switch scalar.string {
        case "true": return true
        case "false": return false
        default: throw error(.badValue, "expected true or false")
        }
    }

    func seconds() throws -> Seconds {
        guard case .scalar(let scalar) = node, let value = Seconds(parsing: scalar.string) else {
            throw error(.badValue, "expected a duration such as 500ms, 5s, 10m or 1h, of at most 366d")
        }
        return value
    }

    func stringMap() throws -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error(.badValue, "expected a mapping of strings") }
        var result: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else {
                throw YAMLCursor(node: keyNode, path: path).error(.badValue, "keys must be strings")
            }
            result[key] = try YAMLCursor(node: valueNode, path: "\(path).\(key)").string()
        }
        return result
    }
}

extension Dictionary where Key == String, Value == YAMLCursor {
    func required(_ key: String, in parent: YAMLCursor) throws -> YAMLCursor {
        guard let value = self[key] else {
            let path = parent.path.isEmpty ? key : "\(parent.path).\(key)"
            throw SpecError(.missingKey, path: path, line: parent.line, column: parent.column, "required key is missing")
        }
        return value
    }
}
