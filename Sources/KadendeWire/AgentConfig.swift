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
    /// Directory that pushed file paths are relative to ("/" on a real machine; the process provider gives each
    /// node a directory of its own, so that nodes sharing one host do not write its files).
    public var filesRoot: String?
    /// Where pushed files may go (paths as the revision names them); `ConfigPaths.defaultAllowedRoots` when nil.
    public var allowedRoots: [String]?

    public init(nodeID: String, endpoints: [String], caPin: String, token: String, dataDir: String? = nil,
                filesRoot: String? = nil, allowedRoots: [String]? = nil) {
        self.nodeID = nodeID
        self.endpoints = endpoints
        self.caPin = caPin
        self.token = token
        self.dataDir = dataDir
        self.filesRoot = filesRoot
        self.allowedRoots = allowedRoots
    }
}
