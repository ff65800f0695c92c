import KadendeModel
import KadendeWire
import struct Foundation.Date

/// One way of making machines. Every instance carries the tags in `InstanceTag`; the provider's tagged list is
/// the truth about what exists, the store is what was meant.
public protocol Provider: Sendable {
    var name: String { get }
    /// Refuses a spec this provider cannot honour, before any machine is made. Async: a plugin answers it from a
    /// process of its own, which must not hold a thread of the API's cooperative pool.
    func validate(_ spec: GroupSpec) async throws(ProviderError)
    /// Creates the machine for `request.nodeID`. Idempotent on the node id: a retried create returns the instance
    /// made the first time instead of a second one.
    func create(_ request: CreateRequest) async throws(ProviderError) -> Instance
    func destroy(instanceID: String, reason: String) async throws(ProviderError)
    /// Instances carrying every one of `tags`.
    func list(tags: [String: String]) async throws(ProviderError) -> [Instance]
    func describe(instanceID: String) async throws(ProviderError) -> Instance?
    /// The address this provider's machines dial to reach the coordinator, when it is not one of the advertised
    /// endpoints' hosts (QEMU's user-mode network reaches the host at 10.0.2.2). Nil: the advertised endpoints.
    var coordinatorHost: String? { get }
    /// Restarts the node's agent without touching the machine (the agent died, the node still serves). Returns
    /// false when this provider cannot.
    func restartAgent(instanceID: String) async throws(ProviderError) -> Bool
}

extension Provider {
    public var coordinatorHost: String? { nil }
    public func restartAgent(instanceID: String) async throws(ProviderError) -> Bool { false }
}

public struct CreateRequest: Sendable, Hashable {
    public var nodeID: String
    public var spec: GroupSpec
    public var tags: [String: String]
    /// What user-data carries to the node's agent.
    public var agent: AgentConfig
    /// The node's cloud-init user-data, or why there is none (no agent artifact to point it at). Providers that
    /// boot real machines need it; the process provider starts the agent itself.
    public var userData: Result<String, ProviderError>

    public init(nodeID: String, spec: GroupSpec, tags: [String: String], agent: AgentConfig,
                userData: Result<String, ProviderError>) {
        self.nodeID = nodeID
        self.spec = spec
        self.tags = tags
        self.agent = agent
        self.userData = userData
    }
}

public struct Instance: Sendable, Hashable, Codable {
    public var id: String
    public var tags: [String: String]
    public var status: InstanceStatus
    public var address: String?
    public var launchedAt: Date

    public init(id: String, tags: [String: String], status: InstanceStatus, address: String?, launchedAt: Date) {
        self.id = id
        self.tags = tags
        self.status = status
        self.address = address
        self.launchedAt = launchedAt
    }

    public var nodeID: String? { tags[InstanceTag.node] }
}

public struct ProviderError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidSpec = "invalid_spec"
        case unknownProvider = "unknown_provider"
        case createFailed = "create_failed"
        case destroyFailed = "destroy_failed"
        case listFailed = "list_failed"
        case timeout
        /// A plugin or API answered with something that is not its protocol.
        case badAnswer = "bad_answer"
        /// The provider refused Kadende's credentials.
        case authentication
        /// The coordinator's own configuration leaves this capability off (a provider that runs on its host).
        case disabled = "capability_disabled"
    }

    public var code: Code
    public var provider: String
    public var message: String

    public init(_ code: Code, provider: String, _ message: String) {
        self.code = code
        self.provider = provider
        self.message = message
    }

    public var description: String { "\(provider): \(code.rawValue): \(message)" }
}

/// A provider whose calls depend on the cluster they serve: each cluster has its own provider credentials.
public protocol ClusterScopedProvider: Provider {
    func scoped(to cluster: String) -> any Provider
}

/// The providers a coordinator offers, by name.
public struct ProviderRegistry: Sendable {
    private var providers: [String: any Provider]
    /// Providers this coordinator knows but its configuration leaves off, with the sentence that says how to turn
    /// each on.
    private var disabled: [String: String]

    public init(_ providers: [any Provider], disabled: [String: String] = [:]) {
        let byName = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { _, b in b })
        self.providers = byName
        self.disabled = disabled.filter { byName[$0.key] == nil }
    }

    public var names: [String] { providers.keys.sorted() }
    public var all: [any Provider] { names.compactMap { providers[$0] } }

    public func provider(named name: String) throws(ProviderError) -> any Provider {
        guard let provider = providers[name] else {
            if let why = disabled[name] { throw ProviderError(.disabled, provider: name, why) }
            throw ProviderError(.unknownProvider, provider: name, "no provider \"\(name)\" (available: \(names.joined(separator: ", ")))")
        }
        return provider
    }

    /// The provider as it serves `cluster` (with that cluster's credentials, where it has any).
    public func provider(named name: String, cluster: String) throws(ProviderError) -> any Provider {
        let provider = try provider(named: name)
        return (provider as? any ClusterScopedProvider)?.scoped(to: cluster) ?? provider
    }
}
