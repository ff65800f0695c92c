import Yams

extension GroupSpec {
    /// Decodes a group spec strictly: an unknown key, a missing required key or a bad value is an error naming
    /// the key path and line. The result is validated too (`validate()`).
    public init(yaml text: String) throws(SpecError) {
        let root = try Self.compose(text)
        do {
            self = try Self.decode(YAMLCursor(node: root, path: ""))
        } catch let error as SpecError {
            throw error
        } catch {
            throw SpecError(.badValue, path: "", "\(error)")
        }
        try validate()
    }

    /// Parses YAML into nodes with their marks; malformed text is an error with its line.
    static func compose(_ text: String) throws(SpecError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SpecError(.malformedYAML, path: "", "the document is empty")
            }
            return node
        } catch let error as SpecError {
            throw error
        } catch let error as YamlError {
            throw Self.describe(error)
        } catch {
            throw SpecError(.malformedYAML, path: "", "\(error)")
        }
    }

    private static func describe(_ error: YamlError) -> SpecError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return SpecError(.malformedYAML, path: "", line: mark.line, column: mark.column, problem)
        default:
            return SpecError(.malformedYAML, path: "", "\(error)")
        }
    }

    private static func decode(_ root: YAMLCursor) throws -> GroupSpec {
        let top = try root.mapping(allowed: ["name", "cluster", "provider", "size", "machine", "health", "remediation", "hooks", "bootstrap"])
        let sizeCursor = try top.required("size", in: root)
        let size: Size
        if case .scalar = sizeCursor.node {
            // `size: 3` is shorthand for a fixed size.
            let n = try sizeCursor.int()
            size = Size(desired: n, min: n, max: n)
        } else {
            let s = try sizeCursor.mapping(allowed: ["desired", "min", "max"])
            let desired = try s.required("desired", in: sizeCursor).int()
            size = Size(desired: desired, min: try s["min"]?.int() ?? 0, max: try s["max"]?.int() ?? max(desired, 1))
        }
        return GroupSpec(
            name: try top.required("name", in: root).string(),
            cluster: try top["cluster"]?.string() ?? "default",
            provider: try top.required("provider", in: root).string(),
            size: size,
            machine: try top["machine"].map(decodeMachine) ?? MachineSpec(),
            health: try top["health"].map(decodeHealth) ?? HealthPolicy(),
            remediation: try top["remediation"].map(decodeRemediation) ?? Remediation(),
            hooks: try top["hooks"].map(decodeHooks) ?? Hooks(),
            bootstrap: try top["bootstrap"].map(decodeBootstrap) ?? Bootstrap()
        )
    }

    private static func decodeMachine(_ c: YAMLCursor) throws -> MachineSpec {
        let m = try c.mapping(allowed: ["image", "type", "region", "zone", "tags", "subnet", "securityGroups", "profile", "keyPair"])
        return MachineSpec(
            image: try m["image"]?.string(), type: try m["type"]?.string(),
            region: try m["region"]?.string(), zone: try m["zone"]?.string(),
            tags: try m["tags"]?.stringMap() ?? [:],
            subnet: try m["subnet"]?.string(),
            securityGroups: try m["securityGroups"]?.sequence().map { try $0.string() },
            profile: try m["profile"]?.string(), keyPair: try m["keyPair"]?.string()
        )
    }

    private static func decodeBootstrap(_ c: YAMLCursor) throws -> Bootstrap {
        let b = try c.mapping(allowed: ["packages", "files", "commands", "userData", "agent"])
        let files = try b["files"]?.sequence().map { f in
            let m = try f.mapping(allowed: ["path", "content", "mode", "owner"])
            return Bootstrap.File(
                path: try m.required("path", in: f).string(),
                content: try m.required("content", in: f).string(),
                mode: try m["mode"]?.string() ?? "0644",
                owner: try m["owner"]?.string()
            )
        }
        return Bootstrap(
            packages: try b["packages"]?.sequence().map { try $0.string() } ?? [],
            files: files ?? [],
            commands: try b["commands"]?.sequence().map { try $0.string() } ?? [],
            userData: try b["userData"]?.string(),
            agent: try b["agent"].map { a in
                let m = try a.mapping(allowed: ["url", "sha256"])
                return Bootstrap.AgentSource(url: try m.required("url", in: a).string(), sha256: try m.required("sha256", in: a).string())
            }
        )
    }
}
