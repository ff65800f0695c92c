import KadendeEC2
import KadendeGateway
import KadendeHTTP
import KadendeModel
import KadendeProviders
import KadendeStore
import Logging
import struct Foundation.Date

/// What may execute on the coordinator's own host. That host holds the CA key, the secret key and every tenant's
/// data, and belongs to whoever runs `kadende server`: nothing runs there unless that person turned it on here.
/// A spec that asks for something off is refused at apply.
public struct HostCapabilities: Sendable, Equatable {
    /// Providers whose nodes run on this host (`process`: agents as child processes, with every probe, hook and
    /// pushed command of theirs run as the coordinator's user; `qemu`: virtual machines of this host).
    public static let localProviders: Set<String> = ["process", "qemu"]

    /// The local providers turned on (`--local-provider`).
    public var providers: Set<String> = []
    /// Commands coordinator-side hooks may name: name → executable (`--coordinator-hook NAME=PATH`). A hook runs
    /// the executable with no arguments and the node's facts in its environment.
    public var coordinatorHooks: [String: String] = [:]

    public init(providers: Set<String> = [], coordinatorHooks: [String: String] = [:]) {
        self.providers = providers
        self.coordinatorHooks = coordinatorHooks
    }

    /// Everything on: what tests and benchmarks on a developer's machine use.
    public static let all = HostCapabilities(providers: localProviders)
}

public struct CoordinatorConfiguration: Sendable {
    /// Holds the CA, the server key, the SQLite file and the process provider's nodes.
    public var dataDirectory: String
    public var agentHost: String = "127.0.0.1"
    public var agentPort: Int = 7443
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 7080
    /// The HTTPS listener nodes fetch the agent from (on `agentHost`); nil turns it off.
    public var artifactPort: Int? = 7444
    /// Packaged agents to serve (`scripts/package-agent` writes them to `.build/dist`).
    public var agentArtifactsDirectory: String?
    /// With a path, the `simulated` provider is on: machines are lines in this file for a load generator.
    public var simulatedSpool: String?
    /// Settings of the `qemu` provider.
    public var qemu = QEMUSettings()
    /// What may run on this host: local providers and coordinator hooks (all off unless turned on).
    public var host = HostCapabilities()
    /// How the REST API is served: plain HTTP (loopback only), HTTPS with a certificate from the coordinator's CA,
    /// or HTTPS with the operator's own certificate chain and key (PEM files).
    public enum APITLS: Sendable, Equatable {
        case off
        case coordinatorCA
        case files(certificateChain: String, key: String)
    }
    public var apiTLS: APITLS = .off
    /// Names the API answers to besides its listen address (and the loopback names when it listens there): a request
    /// whose `Host` is another name is refused, so a web page cannot reach the API through DNS rebinding.
    public var apiHostNames: [String] = []
    /// Timeouts and caps of the REST API and the artifact listener.
    public var httpLimits = ListenerLimits()
    /// Timeouts and caps of the agent listener.
    public var agentLimits = AdmissionLimits()
    /// How long events, audit entries and spent tokens are kept.
    public var retention = RetentionPolicy()
    /// With settings, the `ec2` provider is on.
    public var ec2: EC2Settings?
    /// Creates and destroys in flight at once against one provider.
    public var providerConcurrency = 8
    /// Provider plugins: the provider's name (what groups write in `provider:`) → its executable.
    public var plugins: [String: String] = [:]
    /// `host:port` agents are told to dial; defaults to the agent listener's address.
    public var advertisedEndpoints: [String] = []
    /// The `kadende-agent` binary the process provider starts.
    public var agentPath: String
    /// Whether process nodes share the coordinator's network or get a namespace each (root only).
    public var processNetwork: ProcessNetwork = .shared
    public var enrolmentTokenLifetime: Double = 15 * 60
    public var certificateLifetime: Double = 24 * 3600
    /// After a start, nodes that were healthy before it get this long to reconnect before silence counts
    /// (agents back off up to 10 s while the coordinator is away).
    public var restartGrace: Double = 15
    public var orphanGrace: Double = 120
    public var maxFrameSize: Int = 1 << 20
    /// Seconds: a welcomed agent hears from the coordinator at least this often, and leaves one silent for three
    /// times as long (stopped, hung or cut off) for the next endpoint.
    public var agentKeepAlive: Double = 4
    /// Nil: the embedded SQLite file in the data directory. A `postgres://` URL: a store shared by replicas, each
    /// owning a share of the groups through leases.
    public var storeURL: String?
    public var replica = ReplicaSettings(id: ReplicaSettings.defaultID())
    public var now: @Sendable () -> Date = { Date() }
    public var logger: Logger

    public init(dataDirectory: String, agentPath: String, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.agentPath = agentPath
        self.logger = logger
    }
}

extension HostCapabilities {
    /// What in `spec` would run on the coordinator's host without its owner's leave: the key path and why, or nil.
    /// Local providers are checked by the provider registry, which knows them as off.
    public func refusal(for spec: GroupSpec) -> (path: String, message: String)? {
        for (key, hook) in [("preTerminate", spec.hooks.preTerminate), ("postReady", spec.hooks.postReady)] {
            guard let hook, hook.on == .coordinator else { continue }
            guard let run = hook.run, coordinatorHooks[run] != nil else {
                let known = coordinatorHooks.keys.sorted()
                return ("hooks.\(key).run",
                        "this coordinator runs no hook \"\(hook.run ?? "")\" on its host: "
                        + (known.isEmpty ? "its configuration lists none" : "it lists \(known.joined(separator: ", "))")
                        + " (kadende server --coordinator-hook NAME=PATH); on: node runs a command on the node instead")
            }
        }
        return nil
    }
}
