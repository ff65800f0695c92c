import KadendeWire

extension GroupSpec {
    /// Largest number of instance tags a group may ask for (EC2 allows 50 per resource; Kadende adds four).
    static let maxTags = 40
    static let maxTextBytes = 256
    static let maxBootstrapItems = 256
    static let maxCommandBytes = 16 * 1024
    static let maxUserDataBytes = 64 * 1024

    /// Checks that do not need a provider: names, sizes and timings that make sense together, and an upper bound
    /// on every duration, count and string, so that no stored spec can hold a number or a text that a conversion,
    /// a timer or a message could not take.
    public func validate() throws(SpecError) {
        guard ResourceName.isValid(name) else {
            throw SpecError(.badValue, path: "name", "\"\(name.prefix(80))\" must be 1-63 lowercase letters, digits or '-'")
        }
        guard ResourceName.isValid(cluster) else {
            throw SpecError(.badValue, path: "cluster", "\"\(cluster.prefix(80))\" must be 1-63 lowercase letters, digits or '-'")
        }
        guard !provider.isEmpty, provider.count <= 63, provider.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw SpecError(.badValue, path: "provider", "must name a provider (letters, digits and '-')")
        }
        guard size.min >= 0 else { throw SpecError(.badValue, path: "size.min", "must not be negative") }
        guard size.max >= size.min else {
            throw SpecError(.badValue, path: "size.max", "max \(size.max) is below min \(size.min)")
        }
        guard size.max <= 10_000 else { throw SpecError(.badValue, path: "size.max", "at most 10000 nodes per group") }
        guard (size.min...size.max).contains(size.desired) else {
            throw SpecError(.badValue, path: "size.desired", "desired \(size.desired) is outside min \(size.min) .. max \(size.max)")
        }
        try Self.check(health.heartbeatInterval, "health.heartbeatInterval", WireLimits.heartbeatIntervalSeconds)
        guard health.heartbeatTimeout > health.heartbeatInterval else {
            throw SpecError(.badValue, path: "health.heartbeatTimeout",
                            "\(health.heartbeatTimeout) must be longer than heartbeatInterval \(health.heartbeatInterval)")
        }
        try Self.check(health.heartbeatTimeout, "health.heartbeatTimeout", 0.2...3600)
        try Self.check(health.startupTimeout, "health.startupTimeout", 1...86_400)
        try validateHealth()
        try validateMachine()
        try validateBootstrap()
    }

    /// A duration within `range`, or an error that says the range in the spec's own units.
    static func check(_ value: Seconds, _ path: String, _ range: ClosedRange<Double>) throws(SpecError) {
        guard range.contains(value.value) else {
            throw SpecError(.badValue, path: path, "\(value) must be between \(Seconds(range.lowerBound)) and \(Seconds(range.upperBound))")
        }
    }

    static func check(_ text: String?, _ path: String, bytes: Int = maxTextBytes) throws(SpecError) {
        guard let text else { return }
        guard text.utf8.count <= bytes else { throw SpecError(.badValue, path: path, "is \(text.utf8.count) bytes (at most \(bytes))") }
    }

    static func check(count: Int, _ path: String, _ limit: Int) throws(SpecError) {
        guard count <= limit else { throw SpecError(.badValue, path: path, "holds \(count) entries (at most \(limit))") }
    }

    /// The wire's own check of something a spec declares (a probe, a hook's command), with the spec's path.
    static func wire(_ path: String, _ body: () throws(WireError) -> Void) throws(SpecError) {
        do {
            try body()
        } catch {
            throw SpecError(.badValue, path: path, error.message)
        }
    }

    private func validateMachine() throws(SpecError) {
        for (key, value) in [("image", machine.image), ("type", machine.type), ("region", machine.region), ("zone", machine.zone),
                             ("subnet", machine.subnet), ("profile", machine.profile), ("keyPair", machine.keyPair)] {
            try Self.check(value, "machine.\(key)", bytes: key == "profile" ? 2048 : Self.maxTextBytes)
        }
        try Self.check(count: machine.tags.count, "machine.tags", Self.maxTags)
        for (key, value) in machine.tags {
            try Self.check(key, "machine.tags", bytes: 128)
            try Self.check(value, "machine.tags.\(key.prefix(64))")
        }
        try Self.check(count: machine.securityGroups?.count ?? 0, "machine.securityGroups", 16)
        for (i, group) in (machine.securityGroups ?? []).enumerated() { try Self.check(group, "machine.securityGroups[\(i)]") }
    }

    private func validateBootstrap() throws(SpecError) {
        try Self.check(count: bootstrap.packages.count, "bootstrap.packages", Self.maxBootstrapItems)
        for (i, package) in bootstrap.packages.enumerated() { try Self.check(package, "bootstrap.packages[\(i)]") }
        try Self.check(count: bootstrap.commands.count, "bootstrap.commands", Self.maxBootstrapItems)
        for (i, command) in bootstrap.commands.enumerated() { try Self.check(command, "bootstrap.commands[\(i)]", bytes: Self.maxCommandBytes) }
        try Self.check(bootstrap.userData, "bootstrap.userData", bytes: Self.maxUserDataBytes)
        try Self.check(count: bootstrap.files.count, "bootstrap.files", Self.maxBootstrapItems)
        for (i, file) in bootstrap.files.enumerated() {
            guard file.path.hasPrefix("/"), !file.path.split(separator: "/").contains("..") else {
                throw SpecError(.badValue, path: "bootstrap.files[\(i)].path", "\"\(file.path.prefix(200))\" must be an absolute path without '..'")
            }
            try Self.check(file.path, "bootstrap.files[\(i)].path", bytes: WireLimits.pathLength)
            try Self.check(file.content, "bootstrap.files[\(i)].content", bytes: Self.maxUserDataBytes)
            try Self.check(file.owner, "bootstrap.files[\(i)].owner", bytes: 64)
            guard file.mode.count == 4, file.mode.hasPrefix("0"), file.mode.allSatisfy({ ("0"..."7").contains($0) }) else {
                throw SpecError(.badValue, path: "bootstrap.files[\(i)].mode", "\"\(file.mode.prefix(20))\" must be an octal mode such as 0644")
            }
        }
        if let agent = bootstrap.agent {
            try Self.check(agent.url, "bootstrap.agent.url", bytes: WireLimits.urlLength)
            try Self.check(agent.sha256, "bootstrap.agent.sha256", bytes: 80)
        }
    }
}
