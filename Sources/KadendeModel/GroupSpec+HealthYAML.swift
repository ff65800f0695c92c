import KadendeWire

extension GroupSpec {
    static func decodeHealth(_ c: YAMLCursor) throws -> HealthPolicy {
        let h = try c.mapping(allowed: ["heartbeatInterval", "heartbeatTimeout", "phiThreshold", "startupTimeout", "agentGrace", "probes", "external"])
        let d = HealthPolicy()
        return HealthPolicy(
            heartbeatInterval: try h["heartbeatInterval"]?.seconds() ?? d.heartbeatInterval,
            heartbeatTimeout: try h["heartbeatTimeout"]?.seconds() ?? d.heartbeatTimeout,
            phiThreshold: try h["phiThreshold"]?.double() ?? d.phiThreshold,
            startupTimeout: try h["startupTimeout"]?.seconds() ?? d.startupTimeout,
            agentGrace: try h["agentGrace"]?.seconds() ?? d.agentGrace,
            probes: try h["probes"]?.sequence().map(decodeProbe) ?? [],
            external: try h["external"]?.sequence().map(decodeExternal) ?? []
        )
    }

    static let probeKinds: Set<String> = ["exec", "http", "tcp", "systemd", "file"]

    /// `- name: web` with exactly one of `exec`, `http`, `tcp`, `systemd`, `file`, and the common timings.
    static func decodeProbe(_ c: YAMLCursor) throws -> ProbeSpec {
        let m = try c.mapping(allowed: probeKinds.union(["name", "interval", "timeout", "rise", "fall"]))
        let kinds = probeKinds.filter { m[$0] != nil }.sorted()
        guard kinds.count == 1, let kind = kinds.first, let body = m[kind] else {
            throw c.error(.badValue, "a probe needs exactly one of exec, http, tcp, systemd, file (found \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")))")
        }
        let check: ProbeSpec.Check
        switch kind {
        case "exec":
            let e = try body.mapping(allowed: ["command", "env", "user", "shell"])
            let command = try e.required("command", in: body)
            let argv: [String]
            if case .scalar = command.node { argv = [try command.string()] } else { argv = try command.sequence().map { try $0.string() } }
            check = .exec(command: argv, environment: try e["env"]?.stringMap() ?? [:], user: try e["user"]?.string(),
                          shell: try e["shell"]?.bool() ?? false)
        case "http":
            let e = try body.mapping(allowed: ["url", "status"])
            check = .http(url: try e.required("url", in: body).string(), status: try e["status"]?.int())
        case "tcp":
            let e = try body.mapping(allowed: ["host", "port"])
            check = .tcp(host: try e["host"]?.string() ?? "127.0.0.1", port: try e.required("port", in: body).int())
        case "systemd":
            let e = try body.mapping(allowed: ["unit"])
            check = .systemd(unit: try e.required("unit", in: body).string())
        default:
            let e = try body.mapping(allowed: ["path", "maxAge"])
            check = .file(path: try e.required("path", in: body).string(), maxAge: try e["maxAge"]?.seconds().value)
        }
        let d = ProbeSpec(name: "", check: check)
        return ProbeSpec(
            name: try m.required("name", in: c).string(), check: check,
            interval: try m["interval"]?.seconds().value ?? d.interval, timeout: try m["timeout"]?.seconds().value ?? d.timeout,
            rise: try m["rise"]?.int() ?? d.rise, fall: try m["fall"]?.int() ?? d.fall)
    }

    static func decodeExternal(_ c: YAMLCursor) throws -> ExternalProbe {
        let m = try c.mapping(allowed: ["name", "tcp", "http", "interval", "timeout", "rise", "fall"])
        let check: ExternalProbe.Check
        switch (m["tcp"], m["http"]) {
        case (let tcp?, nil):
            let e = try tcp.mapping(allowed: ["port"])
            check = .tcp(port: try e.required("port", in: tcp).int())
        case (nil, let http?):
            let e = try http.mapping(allowed: ["port", "path", "status"])
            check = .http(port: try e.required("port", in: http).int(), path: try e["path"]?.string() ?? "/", status: try e["status"]?.int())
        default:
            throw c.error(.badValue, "an external probe needs exactly one of tcp, http")
        }
        let d = ExternalProbe(name: "", check: check)
        return ExternalProbe(
            name: try m.required("name", in: c).string(), check: check,
            interval: try m["interval"]?.seconds() ?? d.interval, timeout: try m["timeout"]?.seconds() ?? d.timeout,
            rise: try m["rise"]?.int() ?? d.rise, fall: try m["fall"]?.int() ?? d.fall)
    }

    static func decodeRemediation(_ c: YAMLCursor) throws -> Remediation {
        let m = try c.mapping(allowed: ["maxUnhealthy", "breakerSettle", "budget", "crashLoop", "maxSurge"])
        let d = Remediation()
        var r = d
        if let cursor = m["maxUnhealthy"] {
            let text = try cursor.string()
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()) else {
                throw cursor.error(.badValue, "expected a percentage such as 40%")
            }
            r.maxUnhealthyPercent = percent
        }
        r.breakerSettle = try m["breakerSettle"]?.seconds() ?? d.breakerSettle
        if let budget = m["budget"] {
            let b = try budget.mapping(allowed: ["replacements", "per"])
            r.budget = try b["replacements"]?.int() ?? d.budget
            r.budgetWindow = try b["per"]?.seconds() ?? d.budgetWindow
        }
        if let loop = m["crashLoop"] {
            let l = try loop.mapping(allowed: ["minUptime", "backoff", "maxBackoff"])
            r.minUptime = try l["minUptime"]?.seconds() ?? d.minUptime
            r.backoff = try l["backoff"]?.seconds() ?? d.backoff
            r.maxBackoff = try l["maxBackoff"]?.seconds() ?? d.maxBackoff
        }
        r.maxSurge = try m["maxSurge"]?.int() ?? d.maxSurge
        return r
    }

    static func decodeHooks(_ c: YAMLCursor) throws -> Hooks {
        let m = try c.mapping(allowed: ["preTerminate", "postReady"])
        return Hooks(preTerminate: try m["preTerminate"].map(decodeHook), postReady: try m["postReady"].map(decodeHook))
    }

    static func decodeHook(_ c: YAMLCursor) throws -> Hook {
        let m = try c.mapping(allowed: ["on", "command", "shell", "timeout", "run"])
        let onCursor = try m.required("on", in: c)
        guard let place = Hook.Place(rawValue: try onCursor.string()) else {
            throw onCursor.error(.badValue, "expected node or coordinator")
        }
        let timeout = try m["timeout"]?.seconds() ?? Seconds(60)
        switch place {
        case .node:
            if let run = m["run"] { throw run.error(.badValue, "run names a coordinator command; a node hook gives its command") }
            let command = try m.required("command", in: c)
            let argv: [String]
            if case .scalar = command.node { argv = [try command.string()] } else { argv = try command.sequence().map { try $0.string() } }
            return Hook(on: place, command: argv, shell: try m["shell"]?.bool() ?? false, timeout: timeout)
        case .coordinator:
            for key in ["command", "shell"] {
                if let given = m[key] {
                    throw given.error(.badValue, "a coordinator hook runs only what the coordinator's configuration lists: "
                                      + "name it with run: NAME (kadende server --coordinator-hook NAME=PATH)")
                }
            }
            return Hook(on: place, timeout: timeout, run: try m.required("run", in: c).string())
        }
    }
}
