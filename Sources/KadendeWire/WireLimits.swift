import KadendeSupport

/// Upper bounds of every field a peer sends. A decoded message is checked against them before anything acts on
/// it (`WireCodec.decode`), so a number cannot trap a conversion and a string or a list cannot grow what the
/// receiver keeps, logs or stores. Group specs and revisions are held to the same numbers where they are applied,
/// so nothing a user may declare is refused later on the wire.
public enum WireLimits {
    public static let idLength = 64
    public static let versionLength = 64
    public static let protocolVersions = 16
    public static let tokenLength = 128
    public static let csrBytes = 8 * 1024
    public static let reasonLength = 512
    /// A probe's or a step's output as the receiver keeps it; agents cut theirs to 4 KiB already.
    public static let outputBytes = 4 * 1024
    public static let commandOutputBytes = 64 * 1024
    /// A group declares at most 32 probes; a heartbeat with more results is not from a well-behaved agent.
    public static let probeResults = 64
    /// Files, commands and service actions of one revision, and a few more.
    public static let steps = 400
    public static let stepNameLength = 300
    public static let digestLength = 128
    public static let revision = Int(Int32.max)
    public static let facts = 64
    public static let factLength = 1024
    public static let arguments = 256
    public static let argumentBytes = 16 * 1024
    public static let environment = 256
    public static let environmentBytes = 16 * 1024
    /// A revision's environment: what its services read, so room for certificates and the like.
    public static let revisionEnvironmentBytes = 256 * 1024
    public static let urlLength = 2048
    public static let pathLength = 4096
    public static let probeCounter = 100

    /// Heartbeats come at least every 100 ms and at most every 5 minutes.
    public static let heartbeatIntervalSeconds: ClosedRange<Double> = 0.1...300
    public static let keepAliveMillis = 100...60_000
    /// A probe or an external probe runs at least every hour.
    public static let probeIntervalSeconds: ClosedRange<Double> = 0.1...3600
    public static let probeTimeoutSeconds: ClosedRange<Double> = 0.001...300
    /// Commands, hooks and service actions end within an hour.
    public static let commandTimeoutSeconds: ClosedRange<Double> = 0.001...3600
    public static let fileAgeSeconds: ClosedRange<Double> = 0.001...Clamp.maxSeconds
}

/// What `validate()` throws: which field broke which bound.
extension WireError {
    static func limit(_ message: String, _ field: String, _ problem: String) -> WireError {
        WireError(.limitExceeded, "\(message): \(field) \(problem)")
    }
}

/// Checks shared by every message type.
struct WireCheck {
    let message: String

    func length(_ text: String?, _ field: String, _ limit: Int) throws(WireError) {
        guard let text else { return }
        guard text.utf8.count <= limit else { throw .limit(message, field, "is \(text.utf8.count) bytes (at most \(limit))") }
    }

    func count(_ n: Int, _ field: String, _ limit: Int) throws(WireError) {
        guard n <= limit else { throw .limit(message, field, "holds \(n) entries (at most \(limit))") }
    }

    func range<T: Comparable>(_ value: T, _ field: String, _ range: ClosedRange<T>) throws(WireError) {
        guard range.contains(value) else { throw .limit(message, field, "\(value) is outside \(range.lowerBound)...\(range.upperBound)") }
    }

    func argv(_ argv: [String], _ field: String) throws(WireError) {
        try count(argv.count, field, WireLimits.arguments)
        guard argv.reduce(0, { $0 + $1.utf8.count }) <= WireLimits.argumentBytes else {
            throw .limit(message, field, "is longer than \(WireLimits.argumentBytes) bytes")
        }
    }

    func environment(_ environment: [String: String], _ field: String, bytes: Int = WireLimits.environmentBytes) throws(WireError) {
        try count(environment.count, field, WireLimits.environment)
        guard environment.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count }) <= bytes else {
            throw .limit(message, field, "is longer than \(bytes) bytes")
        }
    }
}

extension WireMessage {
    /// Every field within `WireLimits`; what a receiver may act on.
    public func validate() throws(WireError) {
        switch self {
        case .hello(let m): try m.validate()
        case .welcome(let m): try m.validate()
        case .enrol(let m): try m.validate()
        case .enrolled(let m):
            let c = WireCheck(message: "enrolled")
            try c.length(m.certificatePEM, "certificatePEM", WireLimits.csrBytes * 2)
            try c.length(m.caPEM, "caPEM", WireLimits.csrBytes * 2)
        case .heartbeat(let m): try m.validate()
        case .push:
            // A revision beyond the limits is the applier's to refuse (`ConfigRevision.validate`), as a failed
            // revision with nothing applied: refusing the frame would end the session, and the coordinator would
            // send the same push at the next hello.
            break
        case .ack(let m): try m.validate(WireCheck(message: "ack"))
        case .bye(let m): try WireCheck(message: "bye").length(m.reason, "reason", WireLimits.reasonLength)
        case .refused(let m): try WireCheck(message: "refused").length(m.reason, "reason", WireLimits.reasonLength * 4)
        case .renew(let m): try WireCheck(message: "renew").count(m.csrDER.count, "csrDER", WireLimits.csrBytes)
        case .renewed(let m): try WireCheck(message: "renewed").length(m.certificatePEM, "certificatePEM", WireLimits.csrBytes * 2)
        case .runCommand(let m):
            let c = WireCheck(message: "runCommand")
            try c.length(m.id, "id", WireLimits.idLength)
            try c.argv(m.command, "command")
            try c.range(m.timeoutSeconds, "timeoutSeconds", WireLimits.commandTimeoutSeconds)
            try c.environment(m.environment, "environment")
        case .commandResult(let m):
            let c = WireCheck(message: "commandResult")
            try c.length(m.id, "id", WireLimits.idLength)
            try c.length(m.output, "output", WireLimits.commandOutputBytes)
        case .keepAlive, .ignored: break
        }
    }
}

extension Hello {
    func validate() throws(WireError) {
        let c = WireCheck(message: "hello")
        try c.length(nodeID, "nodeID", WireLimits.idLength)
        try c.length(agentVersion, "agentVersion", WireLimits.versionLength)
        try c.count(protocolVersions.count, "protocolVersions", WireLimits.protocolVersions)
        try config?.validate(WireCheck(message: "hello.config"))
    }
}

extension Welcome {
    func validate() throws(WireError) {
        let c = WireCheck(message: "welcome")
        try c.length(coordinatorID, "coordinatorID", WireLimits.idLength * 2)
        try c.range(heartbeatIntervalMillis, "heartbeatIntervalMillis",
                    Int(WireLimits.heartbeatIntervalSeconds.lowerBound * 1000)...Int(WireLimits.heartbeatIntervalSeconds.upperBound * 1000))
        if let keepAliveMillis { try c.range(keepAliveMillis, "keepAliveMillis", WireLimits.keepAliveMillis) }
        if let probes { try ProbeSpec.validate(probes, c, "probes") }
        if let facts {
            try c.count(facts.count, "facts", WireLimits.facts)
            for (key, value) in facts {
                try c.length(key, "facts key", WireLimits.factLength)
                try c.length(value, "facts.\(key)", WireLimits.factLength)
            }
        }
    }
}

extension Enrol {
    func validate() throws(WireError) {
        let c = WireCheck(message: "enrol")
        try c.length(nodeID, "nodeID", WireLimits.idLength)
        try c.length(token, "token", WireLimits.tokenLength)
        try c.count(csrDER.count, "csrDER", WireLimits.csrBytes)
    }
}

extension Heartbeat {
    func validate() throws(WireError) {
        let c = WireCheck(message: "heartbeat")
        try c.length(nodeID, "nodeID", WireLimits.idLength)
        try c.count(probes.count, "probes", WireLimits.probeResults)
        for (i, probe) in probes.enumerated() {
            try c.length(probe.name, "probes[\(i)].name", WireLimits.idLength)
            try c.length(probe.output, "probes[\(i)].output", WireLimits.outputBytes)
        }
        if let s = summary {
            for (field, n) in [("passing", s.passing), ("warning", s.warning), ("critical", s.critical), ("unknown", s.unknown)] {
                try c.range(n, "summary.\(field)", 0...WireLimits.probeResults)
            }
        }
    }
}

extension Ack {
    func validate(_ c: WireCheck) throws(WireError) {
        try c.range(revision, "revision", 0...WireLimits.revision)
        try c.length(message, "message", WireLimits.outputBytes)
        try c.length(digest, "digest", WireLimits.digestLength)
        if let steps {
            try c.count(steps.count, "steps", WireLimits.steps)
            for (i, step) in steps.enumerated() {
                try c.length(step.step, "steps[\(i)].step", WireLimits.stepNameLength)
                try c.length(step.output, "steps[\(i)].output", WireLimits.outputBytes)
            }
        }
    }
}

extension ProbeSpec {
    static func validate(_ probes: [ProbeSpec], _ c: WireCheck, _ field: String) throws(WireError) {
        try c.count(probes.count, field, WireLimits.probeResults)
        for (i, probe) in probes.enumerated() { try probe.validate(c, "\(field)[\(i)]") }
    }

    /// The numbers and sizes of a probe an agent will run: what a group spec may declare, no more. Group specs and
    /// revisions are checked with this too, so nothing a user may declare is refused later on the wire.
    public func checkLimits(field: String) throws(WireError) {
        try validate(WireCheck(message: "probe"), field)
    }

    /// Its numbers held inside the limits: what a coordinator sends of a group stored before the limits existed, so
    /// that its agents run the probe at the nearest allowed pace instead of refusing the whole welcome.
    public func clampedToLimits() -> ProbeSpec {
        var probe = self
        probe.interval = min(max(interval, WireLimits.probeIntervalSeconds.lowerBound), WireLimits.probeIntervalSeconds.upperBound)
        probe.timeout = min(max(timeout, WireLimits.probeTimeoutSeconds.lowerBound), WireLimits.probeTimeoutSeconds.upperBound)
        probe.rise = min(max(rise, 1), WireLimits.probeCounter)
        probe.fall = min(max(fall, 1), WireLimits.probeCounter)
        if case .file(let path, let maxAge?) = check {
            probe.check = .file(path: path, maxAge: min(max(maxAge, WireLimits.fileAgeSeconds.lowerBound), WireLimits.fileAgeSeconds.upperBound))
        }
        return probe
    }

    func validate(_ c: WireCheck, _ field: String) throws(WireError) {
        try c.length(name, field + ".name", WireLimits.idLength)
        try c.range(interval, field + ".interval", WireLimits.probeIntervalSeconds)
        try c.range(timeout, field + ".timeout", WireLimits.probeTimeoutSeconds)
        try c.range(rise, field + ".rise", 1...WireLimits.probeCounter)
        try c.range(fall, field + ".fall", 1...WireLimits.probeCounter)
        switch check {
        case .exec(let command, let environment, let user, _):
            try c.argv(command, field + ".exec.command")
            try c.environment(environment, field + ".exec.env")
            try c.length(user, field + ".exec.user", WireLimits.idLength)
        case .http(let url, let status):
            try c.length(url, field + ".http.url", WireLimits.urlLength)
            if let status { try c.range(status, field + ".http.status", 100...599) }
        case .tcp(let host, let port):
            try c.length(host, field + ".tcp.host", WireLimits.urlLength)
            try c.range(port, field + ".tcp.port", 1...65535)
        case .systemd(let unit):
            try c.length(unit, field + ".systemd.unit", WireLimits.idLength * 4)
        case .file(let path, let maxAge):
            try c.length(path, field + ".file.path", WireLimits.pathLength)
            if let maxAge { try c.range(maxAge, field + ".file.maxAge", WireLimits.fileAgeSeconds) }
        }
    }
}

extension ConfigRevision {
    /// A pushed revision as the agent receives it; the coordinator refused anything larger before storing it.
    public func validate() throws(WireError) {
        let c = WireCheck(message: "push")
        try c.range(revision, "revision", 0...WireLimits.revision)
        try c.length(digest, "digest", WireLimits.digestLength)
        try c.count(files.count, "files", ConfigPaths.maxFiles)
        for (i, file) in files.enumerated() {
            try c.length(file.path, "files[\(i)].path", WireLimits.pathLength)
            try c.length(file.content, "files[\(i)].content", ConfigPaths.maxFileSize)
            try c.range(file.mode, "files[\(i)].mode", 0...0o7777)
            try c.length(file.owner, "files[\(i)].owner", WireLimits.idLength)
            try c.length(file.group, "files[\(i)].group", WireLimits.idLength)
        }
        try c.count(commands.count + services.count, "commands and services", WireLimits.steps)
        for (i, command) in commands.enumerated() {
            try c.length(command.name, "commands[\(i)].name", WireLimits.stepNameLength)
            try c.argv(command.command, "commands[\(i)].command")
            try c.range(command.timeout, "commands[\(i)].timeout", WireLimits.commandTimeoutSeconds)
            try c.length(command.user, "commands[\(i)].user", WireLimits.idLength)
        }
        for (i, service) in services.enumerated() {
            try c.length(service.name, "services[\(i)].name", WireLimits.stepNameLength)
            try c.range(service.timeout, "services[\(i)].timeout", WireLimits.commandTimeoutSeconds)
            try c.argv(service.argv, "services[\(i)]")
        }
        try c.environment(environment, "environment", bytes: WireLimits.revisionEnvironmentBytes)
        if let probes { try ProbeSpec.validate(probes, c, "probes") }
    }
}
