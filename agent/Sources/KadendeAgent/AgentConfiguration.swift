import KadendePKI
import KadendeSupport
import KadendeWire

/// The agent's settings, read from `/etc/kadende/agent.yaml` and checked before the agent dials anyone.
public struct AgentSettings: Sendable {
    public var config: AgentConfig
    public var pin: CAPin
    public var dataDir: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(config: AgentConfig, defaultDataDir: String = "/var/lib/kadende-agent") throws {
        guard NodeID.isValid(config.nodeID) else { throw Invalid(description: "nodeID \"\(config.nodeID)\" is not a node id") }
        guard !config.endpoints.isEmpty else { throw Invalid(description: "endpoints: at least one coordinator is needed") }
        for endpoint in config.endpoints where Endpoint(endpoint) == nil {
            throw Invalid(description: "endpoints: \"\(endpoint)\" is not host:port")
        }
        guard let pin = CAPin(config.caPin) else { throw Invalid(description: "caPin: expected sha256:<64 hex digits>") }
        self.config = config
        self.pin = pin
        self.dataDir = config.dataDir ?? defaultDataDir
    }

    public static func load(path: String) throws -> AgentSettings {
        guard let text = try SecureFile.readText(path) else { throw Invalid(description: "\(path) does not exist") }
        let config: AgentConfig
        do {
            config = try AgentConfigFile.parse(text)
        } catch {
            throw Invalid(description: "\(path): \(error)")
        }
        return try AgentSettings(config: config)
    }
}

