/// What the user declares for a group (`kadende group apply -f web.yaml`). Stored as numbered revisions; the
/// reconciler works only from this value and from what it observes.
public struct GroupSpec: Codable, Sendable, Hashable {
    public var name: String
    public var cluster: String
    public var provider: String
    public var size: Size
    public var machine: MachineSpec
    public var health: HealthPolicy
    public var remediation: Remediation
    public var hooks: Hooks
    public var bootstrap: Bootstrap

    public init(
        name: String, cluster: String = "default", provider: String, size: Size,
        machine: MachineSpec = MachineSpec(), health: HealthPolicy = HealthPolicy(), remediation: Remediation = Remediation(),
        hooks: Hooks = Hooks(), bootstrap: Bootstrap = Bootstrap()
    ) {
        self.name = name
        self.cluster = cluster
        self.provider = provider
        self.size = size
        self.machine = machine
        self.health = health
        self.remediation = remediation
        self.hooks = hooks
        self.bootstrap = bootstrap
    }

    enum CodingKeys: String, CodingKey { case name, cluster, provider, size, machine, health, remediation, hooks, bootstrap }

    /// Specs stored before a section existed decode with its defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        cluster = try c.decode(String.self, forKey: .cluster)
        provider = try c.decode(String.self, forKey: .provider)
        size = try c.decode(Size.self, forKey: .size)
        machine = try c.decode(MachineSpec.self, forKey: .machine)
        health = try c.decode(HealthPolicy.self, forKey: .health)
        remediation = try c.decodeIfPresent(Remediation.self, forKey: .remediation) ?? Remediation()
        hooks = try c.decodeIfPresent(Hooks.self, forKey: .hooks) ?? Hooks()
        bootstrap = try c.decode(Bootstrap.self, forKey: .bootstrap)
    }

    public struct Size: Codable, Sendable, Hashable {
        public var desired: Int
        public var min: Int
        public var max: Int
        public init(desired: Int, min: Int, max: Int) {
            self.desired = desired
            self.min = min
            self.max = max
        }
    }

    /// Provider-specific description of one machine; providers validate what they understand.
    public struct MachineSpec: Codable, Sendable, Hashable {
        public var image: String?
        public var type: String?
        public var region: String?
        public var zone: String?
        public var tags: [String: String]
        /// Where the machine's network interface goes (EC2: a subnet id; a cloud's network without a default needs it).
        public var subnet: String?
        /// Firewall groups the machine joins (EC2: security group ids).
        public var securityGroups: [String]?
        /// The identity the machine runs as (EC2: an instance profile name or ARN).
        public var profile: String?
        /// An SSH key pair for break-glass access (EC2: a key pair name).
        public var keyPair: String?

        public init(image: String? = nil, type: String? = nil, region: String? = nil, zone: String? = nil, tags: [String: String] = [:],
                    subnet: String? = nil, securityGroups: [String]? = nil, profile: String? = nil, keyPair: String? = nil) {
            self.image = image
            self.type = type
            self.region = region
            self.zone = zone
            self.tags = tags
            self.subnet = subnet
            self.securityGroups = securityGroups
            self.profile = profile
            self.keyPair = keyPair
        }
    }

    /// What a node installs and runs before the agent takes over (rendered into cloud-init user-data).
    public struct Bootstrap: Codable, Sendable, Hashable {
        public var packages: [String]
        public var files: [File]
        public var commands: [String]
        /// The group's own cloud-config (`#cloud-config …`) or script (`#!…`), combined with Kadende's as
        /// multipart user-data.
        public var userData: String?
        /// Where nodes fetch the agent instead of the coordinator's artifact listener (a mirror or a package
        /// repository the fleet already trusts); its SHA-256 is checked all the same.
        public var agent: AgentSource?
        public init(packages: [String] = [], files: [File] = [], commands: [String] = [], userData: String? = nil,
                    agent: AgentSource? = nil) {
            self.packages = packages
            self.files = files
            self.commands = commands
            self.userData = userData
            self.agent = agent
        }

        public struct AgentSource: Codable, Sendable, Hashable {
            public var url: String
            public var sha256: String
            public init(url: String, sha256: String) {
                self.url = url
                self.sha256 = sha256
            }
        }

        public struct File: Codable, Sendable, Hashable {
            public var path: String
            public var content: String
            public var mode: String
            public var owner: String?
            public init(path: String, content: String, mode: String = "0644", owner: String? = nil) {
                self.path = path
                self.content = content
                self.mode = mode
                self.owner = owner
            }
        }
    }
}
