import KadendeWire

extension GroupSpec {
    /// How a group's nodes are judged. Heartbeats feed an adaptive (φ-accrual) detector that never convicts before
    /// `2 × heartbeatInterval` of silence and always does after `heartbeatTimeout` when nothing else speaks for
    /// the node; probes and the provider's view decide in between (see `HealthJudge`).
    public struct HealthPolicy: Codable, Sendable, Hashable {
        /// How often the agent sends a heartbeat.
        public var heartbeatInterval: Seconds
        /// The ceiling: silence after which a node is convicted whatever else is known.
        public var heartbeatTimeout: Seconds
        /// φ above which a silence counts as the agent being gone (8: about one chance in 10⁸ that it is late).
        public var phiThreshold: Double
        /// Time a new node has to enrol and pass its probes before it is declared failed and replaced.
        public var startupTimeout: Seconds
        /// How long a node whose agent is silent but which still answers its external probes is left alone (the
        /// agent is restarted through the provider where it can be) before it is replaced.
        public var agentGrace: Seconds
        /// Checks the agent runs on the node.
        public var probes: [ProbeSpec]
        /// Checks the coordinator runs against the node's address.
        public var external: [ExternalProbe]

        public init(heartbeatInterval: Seconds = Seconds(1), heartbeatTimeout: Seconds = Seconds(10), phiThreshold: Double = 8,
                    startupTimeout: Seconds = Seconds(600), agentGrace: Seconds = Seconds(120),
                    probes: [ProbeSpec] = [], external: [ExternalProbe] = []) {
            self.heartbeatInterval = heartbeatInterval
            self.heartbeatTimeout = heartbeatTimeout
            self.phiThreshold = phiThreshold
            self.startupTimeout = startupTimeout
            self.agentGrace = agentGrace
            self.probes = probes
            self.external = external
        }

        enum CodingKeys: String, CodingKey {
            case heartbeatInterval, heartbeatTimeout, phiThreshold, startupTimeout, agentGrace, probes, external
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = HealthPolicy()
            heartbeatInterval = try c.decodeIfPresent(Seconds.self, forKey: .heartbeatInterval) ?? d.heartbeatInterval
            heartbeatTimeout = try c.decodeIfPresent(Seconds.self, forKey: .heartbeatTimeout) ?? d.heartbeatTimeout
            phiThreshold = try c.decodeIfPresent(Double.self, forKey: .phiThreshold) ?? d.phiThreshold
            startupTimeout = try c.decodeIfPresent(Seconds.self, forKey: .startupTimeout) ?? d.startupTimeout
            agentGrace = try c.decodeIfPresent(Seconds.self, forKey: .agentGrace) ?? d.agentGrace
            probes = try c.decodeIfPresent([ProbeSpec].self, forKey: .probes) ?? []
            external = try c.decodeIfPresent([ExternalProbe].self, forKey: .external) ?? []
        }
    }

    /// A check the coordinator runs against a node's address: it tells a node whose agent died from a node that
    /// died.
    public struct ExternalProbe: Codable, Sendable, Hashable {
        public enum Check: Codable, Sendable, Hashable {
            case tcp(port: Int)
            /// GET `http://<node address>:<port><path>`; `status` nil accepts any 2xx.
            case http(port: Int, path: String, status: Int?)
        }
        public var name: String
        public var check: Check
        public var interval: Seconds
        public var timeout: Seconds
        public var rise: Int
        public var fall: Int

        public init(name: String, check: Check, interval: Seconds = Seconds(1), timeout: Seconds = Seconds(0.5), rise: Int = 1, fall: Int = 2) {
            self.name = name
            self.check = check
            self.interval = interval
            self.timeout = timeout
            self.rise = rise
            self.fall = fall
        }

        public var port: Int {
            switch check {
            case .tcp(let port), .http(let port, _, _): port
            }
        }
    }

    /// What the coordinator may do to a group's nodes on its own, and how fast. On by default: both missing a
    /// dead node and killing healthy ones hurt.
    public struct Remediation: Codable, Sendable, Hashable {
        /// Above this share of the group unhealthy at once, replacing stops and an alert is raised: a partition
        /// of the coordinator looks like mass death.
        public var maxUnhealthyPercent: Int
        /// How long the group must stay under `maxUnhealthy` before an open breaker closes.
        public var breakerSettle: Seconds
        /// At most `budget` replacements per `budgetWindow` in a group.
        public var budget: Int
        public var budgetWindow: Seconds
        /// A node that dies within `minUptime` of its creation died young. The first young death is replaced at
        /// once; each further one in a row doubles the wait before the next replacement, from `backoff` up to
        /// `maxBackoff`.
        public var minUptime: Seconds
        public var backoff: Seconds
        public var maxBackoff: Seconds
        /// Nodes created beyond the desired size so a replacement is healthy before its predecessor is terminated.
        public var maxSurge: Int

        public init(maxUnhealthyPercent: Int = 40, breakerSettle: Seconds = Seconds(30), budget: Int = 3, budgetWindow: Seconds = Seconds(600),
                    minUptime: Seconds = Seconds(300), backoff: Seconds = Seconds(10), maxBackoff: Seconds = Seconds(600), maxSurge: Int = 0) {
            self.maxUnhealthyPercent = maxUnhealthyPercent
            self.breakerSettle = breakerSettle
            self.budget = budget
            self.budgetWindow = budgetWindow
            self.minUptime = minUptime
            self.backoff = backoff
            self.maxBackoff = maxBackoff
            self.maxSurge = maxSurge
        }
    }

    /// Commands run around a node's life. `preTerminate` runs before a node's machine is destroyed (drain it from
    /// Swarm or Kubernetes); `postReady` once, when it first turns healthy.
    public struct Hooks: Codable, Sendable, Hashable {
        public var preTerminate: Hook?
        public var postReady: Hook?
        public init(preTerminate: Hook? = nil, postReady: Hook? = nil) {
            self.preTerminate = preTerminate
            self.postReady = postReady
        }
    }

    public struct Hook: Codable, Sendable, Hashable {
        public enum Place: String, Codable, Sendable, Hashable {
            /// Through the node's agent, as root, on the node.
            case node
            /// On the coordinator's machine, with the node's id, name and address in the environment: only a command
            /// that the coordinator's own configuration lists (`kadende server --coordinator-hook NAME=PATH`), by name.
            case coordinator
        }
        public var on: Place
        /// What a node runs (`on: node`).
        public var command: [String]
        public var shell: Bool
        public var timeout: Seconds
        /// The name of a command of the coordinator's configuration (`on: coordinator`). A spec never spells out what
        /// the coordinator's host runs: that host belongs to whoever runs the coordinator.
        public var run: String?

        public init(on: Place, command: [String] = [], shell: Bool = false, timeout: Seconds = Seconds(60), run: String? = nil) {
            self.on = on
            self.command = command
            self.shell = shell
            self.timeout = timeout
            self.run = run
        }
    }
}
