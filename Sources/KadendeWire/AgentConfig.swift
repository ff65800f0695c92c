/// What a node's user-data (or the process provider) hands the agent, written to `/etc/kadende/agent.yaml`
/// (0600): where the coordinators are, how to recognise them, and the single-use token that buys a certificate.
/// Nothing here is a long-lived secret.
public struct AgentConfig: Codable, Sendable, Hashable {
    public var nodeID: String
    /// `host:port` of every coordinator; the agent tries them in turn.
    public var endpoints: [String]
    /// `sha256:<hex>` of the coordinator's CA certificate.
    public var caPin: String
    public var token: String
    /// Where the agent keeps its key and certificate.
    public var dataDir: String?

    public init(nodeID: String, endpoints: [String], caPin: String, token: String, dataDir: String? = nil) {
        self.nodeID = nodeID
        self.endpoints = endpoints
        self.caPin = caPin
        self.token = token
        self.dataDir = dataDir
    }
}
