import KadendeWire

extension ConfigPush {
    public static let maxCommands = 64
    public static let maxServices = 32
    /// A revision travels in one frame (1 MiB) with room to spare.
    public static let maxEncodedSize = 900 * 1024

    /// Everything the coordinator can refuse before a node sees the revision: paths by their text, sizes,
    /// modes, template facts, commands, probes and the rollout's numbers. Symlinks are the node's to check.
    public func validate(allowedRoots: [String] = ConfigPaths.defaultAllowedRoots) throws(SpecError) {
        if let group, !ResourceName.isValid(group) { throw SpecError(.badValue, path: "group", "\"\(group.prefix(80))\" is not a group name") }
        for (i, node) in target.nodes.enumerated() where !NodeID.isValid(node) {
            throw SpecError(.badValue, path: "target.nodes[\(i)]", "\"\(node.prefix(80))\" is not a node id")
        }
        guard content.files.count <= ConfigPaths.maxFiles else {
            throw SpecError(.badValue, path: "files", "at most \(ConfigPaths.maxFiles) files per revision")
        }
        var paths: Set<String> = []
        for (i, file) in content.files.enumerated() {
            let path = "files[\(i)]"
            do {
                try ConfigPaths.check(file.path, allowedRoots: allowedRoots)
            } catch {
                throw SpecError(.badValue, path: path + ".path", error.message)
            }
            guard paths.insert(file.path).inserted else { throw SpecError(.badValue, path: path + ".path", "\(file.path) is given twice") }
            let size = file.content.utf8.count
            guard size <= ConfigPaths.maxFileSize else {
                throw SpecError(.badValue, path: path + (file.template ? ".template" : ".content"),
                                "\(size) bytes is over the limit of \(ConfigPaths.maxFileSize) bytes per file")
            }
            if file.template {
                do {
                    _ = try ConfigTemplate.references(in: file.content)
                } catch {
                    throw SpecError(.badValue, path: path + ".template", error.message)
                }
            }
            for (key, name) in [("owner", file.owner), ("group", file.group)] {
                if let name, !Self.isAccountName(name) { throw SpecError(.badValue, path: "\(path).\(key)", "\"\(name.prefix(64))\" is not a name") }
            }
        }
        for key in content.environment.keys where !Self.isVariableName(key) {
            throw SpecError(.badValue, path: "environment.\(key.prefix(64))", "variable names are letters, digits and '_', not starting with a digit")
        }
        guard content.commands.count <= Self.maxCommands else { throw SpecError(.badValue, path: "commands", "at most \(Self.maxCommands) commands") }
        guard content.services.count <= Self.maxServices else { throw SpecError(.badValue, path: "services", "at most \(Self.maxServices) service actions") }
        var steps: Set<String> = []
        for (i, command) in content.commands.enumerated() {
            let path = "commands[\(i)]"
            try Self.checkStepName(command.name, path: path + ".name", names: &steps)
            try Self.checkCommand(command.command, path: path + ".command")
            try Self.checkTimeout(command.timeout, path: path + ".timeout")
            if let user = command.user, !Self.isAccountName(user) { throw SpecError(.badValue, path: path + ".user", "\"\(user.prefix(64))\" is not a user name") }
        }
        for (i, service) in content.services.enumerated() {
            let path = "services[\(i)]"
            try Self.checkStepName("service:" + service.name, path: path + ".name", names: &steps)
            try Self.checkTimeout(service.timeout, path: path + ".timeout")
            switch service.kind {
            case .restart(let unit), .reload(let unit):
                guard !unit.isEmpty, !unit.hasPrefix("-"), !unit.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                    throw SpecError(.badValue, path: path, "\"\(unit.prefix(80))\" is not a unit name")
                }
            case .command(let argv, _):
                try Self.checkCommand(argv, path: path + ".command")
            }
        }
        if let probes = content.probes {
            guard probes.count <= GroupSpec.maxProbes else { throw SpecError(.badValue, path: "probes", "at most \(GroupSpec.maxProbes) probes") }
            var names: Set<String> = []
            try GroupSpec.validateProbes(probes, path: "probes", names: &names)
        }
        try rollout.validate()
        // What the agent will check on arrival, checked here first: nothing stored is refused on the wire later.
        do {
            try content.validate()
        } catch {
            throw SpecError(.badValue, path: "", error.message)
        }
        if let message { try GroupSpec.check(message, "message", bytes: 1024) }
    }

    private static func checkStepName(_ name: String, path: String, names: inout Set<String>) throws(SpecError) {
        guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0.isNewline }) else {
            throw SpecError(.badValue, path: path, "a name of 1 to 64 characters on one line is needed")
        }
        guard names.insert(name).inserted else { throw SpecError(.badValue, path: path, "\"\(name)\" is given twice") }
    }

    private static func checkCommand(_ argv: [String], path: String) throws(SpecError) {
        guard let first = argv.first, !first.isEmpty else { throw SpecError(.badValue, path: path, "must name a command") }
    }

    private static func checkTimeout(_ timeout: Double, path: String) throws(SpecError) {
        guard timeout > 0, timeout <= 3600 else { throw SpecError(.badValue, path: path, "must be between 1ms and 1h") }
    }

    static func isAccountName(_ name: String) -> Bool {
        (1...32).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && !name.hasPrefix("-")
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.first, !first.isNumber, name.count <= 128 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

extension RolloutPolicy {
    public func validate() throws(SpecError) {
        for (key, amount) in [("batch", batch), ("maxUnavailable", maxUnavailable)] {
            if case .count(let n) = amount, n < 1 { throw SpecError(.badValue, path: "rollout.\(key)", "must be at least 1") }
        }
        for (key, amount) in [("batch", batch), ("maxUnavailable", maxUnavailable)] {
            switch amount {
            case .count(let n) where n > 10_000: throw SpecError(.badValue, path: "rollout.\(key)", "at most 10000 nodes")
            case .percent(let p) where !(p > 0 && p <= 100): throw SpecError(.badValue, path: "rollout.\(key)", "a percentage above 0% and at most 100%")
            default: break
            }
        }
        guard maxFailures >= 0 else { throw SpecError(.badValue, path: "rollout.maxFailures", "must not be negative") }
        guard maxFailures <= 10_000 else { throw SpecError(.badValue, path: "rollout.maxFailures", "at most 10000") }
        guard bake.value <= 3600, pause.value <= 3600 else { throw SpecError(.badValue, path: "rollout", "bake and pause are at most 1h") }
        guard applyTimeout.value >= 1, applyTimeout.value <= 7200 else {
            throw SpecError(.badValue, path: "rollout.applyTimeout", "must be between 1s and 2h")
        }
    }
}
