extension GroupSpec {
    /// Checks that do not need a provider: names, sizes and timings that make sense together.
    public func validate() throws(SpecError) {
        guard ResourceName.isValid(name) else {
            throw SpecError(.badValue, path: "name", "\"\(name)\" must be 1-63 lowercase letters, digits or '-'")
        }
        guard ResourceName.isValid(cluster) else {
            throw SpecError(.badValue, path: "cluster", "\"\(cluster)\" must be 1-63 lowercase letters, digits or '-'")
        }
        guard !provider.isEmpty else { throw SpecError(.badValue, path: "provider", "must name a provider") }
        guard size.min >= 0 else { throw SpecError(.badValue, path: "size.min", "must not be negative") }
        guard size.max >= size.min else {
            throw SpecError(.badValue, path: "size.max", "max \(size.max) is below min \(size.min)")
        }
        guard size.max <= 10_000 else { throw SpecError(.badValue, path: "size.max", "at most 10000 nodes per group") }
        guard (size.min...size.max).contains(size.desired) else {
            throw SpecError(.badValue, path: "size.desired", "desired \(size.desired) is outside min \(size.min) .. max \(size.max)")
        }
        guard health.heartbeatInterval.value >= 0.1 else {
            throw SpecError(.badValue, path: "health.heartbeatInterval", "must be at least 100ms")
        }
        guard health.heartbeatTimeout > health.heartbeatInterval else {
            throw SpecError(.badValue, path: "health.heartbeatTimeout",
                            "\(health.heartbeatTimeout) must be longer than heartbeatInterval \(health.heartbeatInterval)")
        }
        guard health.startupTimeout.value >= 1 else {
            throw SpecError(.badValue, path: "health.startupTimeout", "must be at least 1s")
        }
        try validateHealth()
        for (i, file) in bootstrap.files.enumerated() {
            guard file.path.hasPrefix("/"), !file.path.split(separator: "/").contains("..") else {
                throw SpecError(.badValue, path: "bootstrap.files[\(i)].path", "\"\(file.path)\" must be an absolute path without '..'")
            }
            guard file.mode.count == 4, file.mode.hasPrefix("0"), file.mode.allSatisfy({ ("0"..."7").contains($0) }) else {
                throw SpecError(.badValue, path: "bootstrap.files[\(i)].mode", "\"\(file.mode)\" must be an octal mode such as 0644")
            }
        }
    }
}
