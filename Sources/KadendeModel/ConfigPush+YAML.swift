import KadendeWire
import Yams

extension ConfigPush {
    /// Decodes a push file strictly (unknown keys, bad values and malformed YAML are errors with their key path
    /// and line) and validates it: nothing of a refused file reaches a node.
    public init(yaml text: String) throws(SpecError) {
        let root = try GroupSpec.compose(text)
        do {
            self = try Self.decode(YAMLCursor(node: root, path: ""))
        } catch let error as SpecError {
            throw error
        } catch {
            throw SpecError(.badValue, path: "", "\(error)")
        }
        try validate()
    }

    static let topKeys: Set<String> = ["cluster", "group", "message", "target", "rollout", "files", "environment", "commands", "services", "probes"]

    private static func decode(_ root: YAMLCursor) throws -> ConfigPush {
        let top = try root.mapping(allowed: topKeys)
        var target = ConfigTarget()
        if let t = top["target"] {
            let m = try t.mapping(allowed: ["selector", "nodes"])
            if let s = m["selector"] {
                switch LabelSelector.parse(try s.string()) {
                case .success(let selector): target.selector = selector
                case .failure(var error):
                    error.path = s.path
                    error.line = s.line
                    throw error
                }
            }
            target.nodes = try m["nodes"]?.sequence().map { try $0.string() } ?? []
        }
        var content = ConfigRevision(revision: 0)
        content.files = try top["files"]?.sequence().map(decodeFile) ?? []
        content.environment = try top["environment"]?.stringMap() ?? [:]
        content.commands = try top["commands"]?.sequence().map(decodeCommand) ?? []
        content.services = try top["services"]?.sequence().map(decodeService) ?? []
        content.probes = try top["probes"]?.sequence().map(GroupSpec.decodeProbe)
        return ConfigPush(cluster: try top["cluster"]?.string(), group: try top["group"]?.string(), message: try top["message"]?.string(),
                          target: target, rollout: try top["rollout"].map(decodeRollout) ?? RolloutPolicy(), content: content)
    }

    private static func decodeFile(_ c: YAMLCursor) throws -> ConfigFile {
        let m = try c.mapping(allowed: ["path", "content", "template", "mode", "owner", "group"])
        var file = ConfigFile(path: try m.required("path", in: c).string(), content: "")
        switch (m["content"], m["template"]) {
        case (let content?, nil): file.content = try content.string()
        case (nil, let template?):
            file.content = try template.string()
            file.template = true
        default: throw c.error(.badValue, "a file needs exactly one of content, template")
        }
        if let mode = m["mode"] {
            guard let value = Int(try mode.string(), radix: 8), (0...0o7777).contains(value) else {
                throw mode.error(.badValue, "expected an octal mode such as \"0644\"")
            }
            file.mode = value
        }
        file.owner = try m["owner"]?.string()
        file.group = try m["group"]?.string()
        return file
    }

    private static func argv(_ c: YAMLCursor) throws -> [String] {
        if case .scalar = c.node { return [try c.string()] }
        return try c.sequence().map { try $0.string() }
    }

    private static func decodeCommand(_ c: YAMLCursor) throws -> ConfigCommand {
        let m = try c.mapping(allowed: ["name", "command", "shell", "timeout", "user"])
        return ConfigCommand(name: try m.required("name", in: c).string(), command: try argv(m.required("command", in: c)),
                             shell: try m["shell"]?.bool() ?? false, timeout: try m["timeout"]?.seconds().value ?? 60,
                             user: try m["user"]?.string())
    }

    /// `- restart: nginx`, `- reload: nginx`, or `- name: app` with `command`.
    private static func decodeService(_ c: YAMLCursor) throws -> ServiceAction {
        let m = try c.mapping(allowed: ["name", "restart", "reload", "command", "shell", "timeout"])
        let timeout = try m["timeout"]?.seconds().value ?? 60
        switch (m["restart"], m["reload"], m["command"]) {
        case (let unit?, nil, nil):
            let name = try unit.string()
            return ServiceAction(name: try m["name"]?.string() ?? name, kind: .restart(unit: name), timeout: timeout)
        case (nil, let unit?, nil):
            let name = try unit.string()
            return ServiceAction(name: try m["name"]?.string() ?? name, kind: .reload(unit: name), timeout: timeout)
        case (nil, nil, let command?):
            return ServiceAction(name: try m.required("name", in: c).string(),
                                 kind: .command(try argv(command), shell: try m["shell"]?.bool() ?? false), timeout: timeout)
        default:
            throw c.error(.badValue, "a service action needs exactly one of restart, reload, command")
        }
    }

    private static func amount(_ c: YAMLCursor) throws -> RolloutPolicy.Amount {
        let text = try c.string()
        if text.hasSuffix("%"), let p = Double(text.dropLast()), p > 0, p <= 100 { return .percent(p) }
        if let n = Int(text), n >= 1 { return .count(n) }
        throw c.error(.badValue, "expected a number of nodes (at least 1) or a percentage such as 25%")
    }

    private static func decodeRollout(_ c: YAMLCursor) throws -> RolloutPolicy {
        let m = try c.mapping(allowed: ["strategy", "batch", "maxUnavailable", "pause", "bake", "maxFailures", "applyTimeout", "autoRollback"])
        var r = RolloutPolicy()
        if let s = m["strategy"] {
            guard let strategy = RolloutPolicy.Strategy(rawValue: try s.string()) else {
                throw s.error(.badValue, "expected rolling or all-at-once")
            }
            r.strategy = strategy
        }
        if let b = m["batch"] { r.batch = try amount(b) }
        // Without its own maxUnavailable, a batch may be unavailable as a whole: `batch: 3` means batches of 3.
        if let u = m["maxUnavailable"] { r.maxUnavailable = try amount(u) } else if m["batch"] != nil { r.maxUnavailable = r.batch }
        if let p = m["pause"] { r.pause = try p.seconds() }
        if let b = m["bake"] { r.bake = try b.seconds() }
        if let f = m["maxFailures"] { r.maxFailures = try f.int() }
        if let t = m["applyTimeout"] { r.applyTimeout = try t.seconds() }
        if let a = m["autoRollback"] { r.autoRollback = try a.bool() }
        return r
    }
}
