import KadendeWire

extension GroupSpec {
    static let maxProbes = 32

    /// Agent-side probes, in a group's health policy or in a configuration revision.
    static func validateProbes(_ probes: [ProbeSpec], path base: String, names: inout Set<String>) throws(SpecError) {
        for (i, probe) in probes.enumerated() {
            let path = "\(base)[\(i)]"
            try Self.checkProbeName(probe.name, path: path, names: &names)
            try Self.checkTimings(interval: probe.interval, timeout: probe.timeout, rise: probe.rise, fall: probe.fall, path: path)
            switch probe.check {
            case .exec(let command, let environment, let user, _):
                guard let first = command.first, !first.isEmpty else {
                    throw SpecError(.badValue, path: path + ".exec.command", "must name a command")
                }
                guard environment.keys.allSatisfy({ !$0.isEmpty && !$0.contains("=") }) else {
                    throw SpecError(.badValue, path: path + ".exec.env", "variable names must be non-empty and without '='")
                }
                if let user, user.isEmpty || user.contains(where: { $0 == ":" || $0 == "/" || $0.isWhitespace }) {
                    throw SpecError(.badValue, path: path + ".exec.user", "\"\(user)\" is not a user name")
                }
            case .http(let url, let status):
                guard url.hasPrefix("http://"), url.count > 7 else {
                    throw SpecError(.badValue, path: path + ".http.url", "\"\(url.prefix(100))\" must be an http:// URL on the node")
                }
                if let status, !(100...599).contains(status) {
                    throw SpecError(.badValue, path: path + ".http.status", "\(status) is not an HTTP status")
                }
            case .tcp(_, let port):
                try Self.checkPort(port, path: path + ".tcp.port")
            case .systemd(let unit):
                guard !unit.isEmpty, !unit.hasPrefix("-"), !unit.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                    throw SpecError(.badValue, path: path + ".systemd.unit", "\"\(unit)\" is not a unit name")
                }
            case .file(let filePath, let maxAge):
                guard filePath.hasPrefix("/") else {
                    throw SpecError(.badValue, path: path + ".file.path", "\"\(filePath)\" must be an absolute path")
                }
                if let maxAge, maxAge <= 0 { throw SpecError(.badValue, path: path + ".file.maxAge", "must be positive") }
                if let maxAge { try Self.check(Seconds(maxAge), path + ".file.maxAge", WireLimits.fileAgeSeconds) }
            }
            // What the agent checks on arrival, after the checks above that say more precisely what is wrong.
            try Self.wire(path) { () throws(WireError) in try probe.checkLimits(field: path) }
        }
    }

    func validateHealth() throws(SpecError) {
        guard health.phiThreshold >= 1, health.phiThreshold <= 30 else {
            throw SpecError(.badValue, path: "health.phiThreshold", "\(health.phiThreshold) must be between 1 and 30")
        }
        guard health.probes.count + health.external.count <= Self.maxProbes else {
            throw SpecError(.badValue, path: "health.probes", "at most \(Self.maxProbes) probes per group")
        }
        var names: Set<String> = []
        try Self.validateProbes(health.probes, path: "health.probes", names: &names)
        for (i, probe) in health.external.enumerated() {
            let path = "health.external[\(i)]"
            try Self.checkProbeName(probe.name, path: path, names: &names)
            try Self.checkTimings(interval: probe.interval.value, timeout: probe.timeout.value, rise: probe.rise, fall: probe.fall, path: path)
            try Self.checkPort(probe.port, path: path + ".port")
            if case .http(_, let p, let status) = probe.check {
                guard p.hasPrefix("/"), !p.contains(where: { $0.isWhitespace }) else {
                    throw SpecError(.badValue, path: path + ".http.path", "\"\(p.prefix(100))\" must start with / and hold no spaces")
                }
                if let status, !(100...599).contains(status) {
                    throw SpecError(.badValue, path: path + ".http.status", "\(status) is not an HTTP status")
                }
            }
        }
        guard health.agentGrace.value >= 0 else { throw SpecError(.badValue, path: "health.agentGrace", "must not be negative") }
        try Self.check(health.agentGrace, "health.agentGrace", 0...86_400)
        let r = remediation
        guard (1...100).contains(r.maxUnhealthyPercent) else {
            throw SpecError(.badValue, path: "remediation.maxUnhealthy", "\(r.maxUnhealthyPercent)% must be between 1% and 100%")
        }
        try Self.check(r.breakerSettle, "remediation.breakerSettle", 0...86_400)
        guard r.budget >= 1 else { throw SpecError(.badValue, path: "remediation.budget.replacements", "must be at least 1") }
        guard r.budget <= 10_000 else { throw SpecError(.badValue, path: "remediation.budget.replacements", "at most 10000") }
        guard r.budgetWindow.value >= 1 else { throw SpecError(.badValue, path: "remediation.budget.per", "must be at least 1s") }
        try Self.check(r.budgetWindow, "remediation.budget.per", 1...(7 * 86_400))
        try Self.check(r.minUptime, "remediation.crashLoop.minUptime", 0...(7 * 86_400))
        try Self.check(r.backoff, "remediation.crashLoop.backoff", 0...86_400)
        try Self.check(r.maxBackoff, "remediation.crashLoop.maxBackoff", 0...86_400)
        guard r.maxBackoff >= r.backoff else {
            throw SpecError(.badValue, path: "remediation.crashLoop.maxBackoff", "\(r.maxBackoff) is below backoff \(r.backoff)")
        }
        guard r.maxSurge >= 0, r.maxSurge <= 100 else { throw SpecError(.badValue, path: "remediation.maxSurge", "must be 0 to 100") }
        for (key, hook) in [("preTerminate", hooks.preTerminate), ("postReady", hooks.postReady)] {
            guard let hook else { continue }
            guard hook.timeout.value > 0, hook.timeout.value <= 3600 else {
                throw SpecError(.badValue, path: "hooks.\(key).timeout", "must be between 1ms and 1h")
            }
            switch hook.on {
            case .node:
                guard let first = hook.command.first, !first.isEmpty else {
                    throw SpecError(.badValue, path: "hooks.\(key).command", "must name a command")
                }
                try Self.wire("hooks.\(key).command") { () throws(WireError) in
                    try WireMessage.runCommand(RunCommand(id: "", command: hook.command, shell: hook.shell, timeoutSeconds: hook.timeout.value,
                                                          environment: [:])).validate()
                }
            case .coordinator:
                guard let run = hook.run, ResourceName.isValid(run), hook.command.isEmpty else {
                    throw SpecError(.badValue, path: "hooks.\(key).run",
                                    "a coordinator hook names a command of the coordinator's configuration (1-63 lowercase letters, digits or '-')")
                }
            }
        }
    }

    private static func checkProbeName(_ name: String, path: String, names: inout Set<String>) throws(SpecError) {
        guard ResourceName.isValid(name) else {
            throw SpecError(.badValue, path: path + ".name", "\"\(name.prefix(80))\" must be 1-63 lowercase letters, digits or '-'")
        }
        guard names.insert(name).inserted else {
            throw SpecError(.badValue, path: path + ".name", "probe name \"\(name)\" is used twice")
        }
    }

    private static func checkTimings(interval: Double, timeout: Double, rise: Int, fall: Int, path: String) throws(SpecError) {
        guard interval >= 0.1 else { throw SpecError(.badValue, path: path + ".interval", "must be at least 100ms") }
        guard interval <= WireLimits.probeIntervalSeconds.upperBound else { throw SpecError(.badValue, path: path + ".interval", "must be at most 1h") }
        guard timeout > 0, timeout <= 300 else { throw SpecError(.badValue, path: path + ".timeout", "must be between 1ms and 5m") }
        guard (1...100).contains(rise) else { throw SpecError(.badValue, path: path + ".rise", "must be 1 to 100") }
        guard (1...100).contains(fall) else { throw SpecError(.badValue, path: path + ".fall", "must be 1 to 100") }
    }

    private static func checkPort(_ port: Int, path: String) throws(SpecError) {
        guard (1...65535).contains(port) else { throw SpecError(.badValue, path: path, "\(port) is not a port") }
    }
}
