import KadendeWire

// The largest values Kadende puts into user-data, so a group's bootstrap can be sized before any node exists.
extension AgentConfig {
    public static let largestPossible = AgentConfig(
        nodeID: "n-" + String(repeating: "f", count: 16),
        endpoints: (0..<3).map { "coordinator-\($0).kadende.internal.example:7443" },
        caPin: "sha256:" + String(repeating: "f", count: 64),
        token: "kdt_" + String(repeating: "f", count: 64))
}

extension AgentArtifact {
    public static let largestPossible = AgentArtifact(
        url: "https://coordinator-0.kadende.internal.example:7444/v1/agent/0.1.0/x86_64",
        sha256: String(repeating: "f", count: 64),
        // A P-256 CA certificate as Kadende issues it is about 600 bytes of PEM; leave room for a longer name.
        caCertificatePEM: "-----BEGIN CERTIFICATE-----\n" + String(repeating: String(repeating: "A", count: 64) + "\n", count: 14)
            + "-----END CERTIFICATE-----\n")
}
