/// Where a node fetches `kadende-agent` and the SHA-256 it must have. The hash, carried in user-data, is what decides
/// whether the binary runs: it is not inlined (EC2 allows 16 KB of user-data) and is refused if it does not match.
public struct AgentArtifact: Sendable, Hashable, Codable {
    /// `https://…/v1/agent/{version}/{arch}` on the coordinator, or a URL the group names.
    public var url: String
    public var sha256: String
    /// The coordinator's CA (PEM), when the URL is the coordinator's own artifact listener: the node's `curl`
    /// checks the listener's certificate against it. Public, so written world-readable.
    public var caCertificatePEM: String?

    public init(url: String, sha256: String, caCertificatePEM: String? = nil) {
        self.url = url
        self.sha256 = sha256
        self.caCertificatePEM = caCertificatePEM
    }

    public var isValid: Bool {
        sha256.count == 64 && sha256.allSatisfy { $0.isHexDigit && !$0.isUppercase }
            && (url.hasPrefix("https://") || url.hasPrefix("http://"))
            && !url.contains { $0 == "'" || $0 == "\"" || $0 == " " || $0 == "\n" || $0 == "$" || $0 == "`" || $0 == "\\" }
            && (caCertificatePEM.map { $0.hasPrefix("-----BEGIN CERTIFICATE-----") } ?? true)
    }
}
