#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// Message type numbers. Append-only: a number is never reused or renumbered.
public enum MessageType: UInt16, Sendable, CaseIterable {
    case hello = 1
    case welcome = 2
    case enrol = 3
    case enrolled = 4
    case heartbeat = 5
    case push = 6
    case ack = 7
    case bye = 8
    case refused = 9
    case renew = 10
    case renewed = 11
    case runCommand = 12
    case commandResult = 13
    case keepAlive = 14

    /// Whether a receiver must understand a message of this type. Hello, enrol and push change what the receiver
    /// does next; a heartbeat from a newer agent's optional extension does not.
    public var isRequired: Bool {
        switch self {
        case .ack, .bye, .keepAlive: false
        default: true
        }
    }
}

/// Agent → coordinator, first message on an authenticated connection. `nodeID` is the agent's claim, checked
/// against its certificate: identity comes from the certificate only.
public struct Hello: Codable, Sendable, Hashable {
    public var nodeID: String
    public var agentVersion: String
    public var protocolVersions: [UInt8]
    /// The last configuration the agent applied or is applying: the coordinator learns of an ack that a dropped
    /// connection lost, and pushes again when the node is behind.
    public var config: Ack?
    public init(nodeID: String, agentVersion: String, protocolVersions: [UInt8] = [WireProtocol.version], config: Ack? = nil) {
        self.nodeID = nodeID
        self.agentVersion = agentVersion
        self.protocolVersions = protocolVersions
        self.config = config
    }
}

/// Coordinator → agent, answer to `Hello`.
public struct Welcome: Codable, Sendable, Hashable {
    public var coordinatorID: String
    public var heartbeatIntervalMillis: Int
    public var serverTime: Date
    /// The group's agent-side probes; nil from a coordinator that predates probes (the agent runs none).
    public var probes: [ProbeSpec]?
    /// Facts about the node that only the coordinator knows (`node.group`, `node.cluster`, `node.address`), for
    /// configuration templates.
    public var facts: [String: String]?
    /// The coordinator writes to the connection at least this often (a `keepAlive` when it has nothing else to
    /// say); an agent that hears nothing for three times as long takes the coordinator for stopped or cut off and
    /// tries the next endpoint. Nil from a coordinator that predates keep-alives (the agent waits on TCP alone).
    public var keepAliveMillis: Int?
    public init(coordinatorID: String, heartbeatIntervalMillis: Int, serverTime: Date, probes: [ProbeSpec]? = nil,
                facts: [String: String]? = nil, keepAliveMillis: Int? = nil) {
        self.coordinatorID = coordinatorID
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.serverTime = serverTime
        self.probes = probes
        self.facts = facts
        self.keepAliveMillis = keepAliveMillis
    }

    /// How long the agent waits for a word from the coordinator before it gives up on the connection.
    public var silenceLimitMillis: Int? { keepAliveMillis.map { 3 * min(max($0, 100), 60_000) } }
}

/// Coordinator → agent, on an idle connection after `welcome`: "still here". Optional, so agents that predate it
/// ignore it.
public struct KeepAlive: Codable, Sendable, Hashable {
    public init() {}
}

/// Agent → coordinator on a connection without a client certificate: the single-use token from user-data and a
/// CSR for a key the agent generated on the node.
public struct Enrol: Codable, Sendable, Hashable {
    public var nodeID: String
    public var token: String
    public var csrDER: Data
    public init(nodeID: String, token: String, csrDER: Data) {
        self.nodeID = nodeID
        self.token = token
        self.csrDER = csrDER
    }
}

/// Coordinator → agent: the client certificate naming the node, and the CA that signed it.
public struct Enrolled: Codable, Sendable, Hashable {
    public var certificatePEM: String
    public var caPEM: String
    public var notAfter: Date
    public init(certificatePEM: String, caPEM: String, notAfter: Date) {
        self.certificatePEM = certificatePEM
        self.caPEM = caPEM
        self.notAfter = notAfter
    }
}

public struct ProbeResult: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, CaseIterable { case passing, warning, critical, unknown }
    public var name: String
    public var status: Status
    /// The last check's output, capped by the agent (a status line, an exit code and its first bytes).
    public var output: String?
    /// When the probe entered this status, by the agent's clock.
    public var since: Date?
    public init(name: String, status: Status, output: String? = nil, since: Date? = nil) {
        self.name = name
        self.status = status
        self.output = output
        self.since = since
    }
}

/// Agent → coordinator, every heartbeat interval. Carries the probe results whose status changed since the last
/// heartbeat (every result when `full`, on the first heartbeat of a connection) and a summary of all of them.
public struct Heartbeat: Codable, Sendable, Hashable {
    public var nodeID: String
    public var seq: UInt64
    public var sentAt: Date
    public var probes: [ProbeResult]
    public var full: Bool?
    public var summary: ProbeSummary?
    public init(nodeID: String, seq: UInt64, sentAt: Date, probes: [ProbeResult] = [], full: Bool? = nil, summary: ProbeSummary? = nil) {
        self.nodeID = nodeID
        self.seq = seq
        self.sentAt = sentAt
        self.probes = probes
        self.full = full
        self.summary = summary
    }
}

/// Either side, before it closes on purpose.
public struct Bye: Codable, Sendable, Hashable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// Either side: the last message before closing because the peer broke a rule.
public struct Refused: Codable, Sendable, Hashable {
    public var code: RefusalCode
    public var reason: String
    public init(code: RefusalCode, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// Agent → coordinator on its authenticated connection: a CSR for a fresh key, sent at two thirds of the
/// current certificate's life.
public struct Renew: Codable, Sendable, Hashable {
    public var csrDER: Data
    public init(csrDER: Data) { self.csrDER = csrDER }
}

public struct Renewed: Codable, Sendable, Hashable {
    public var certificatePEM: String
    public var notAfter: Date
    public init(certificatePEM: String, notAfter: Date) {
        self.certificatePEM = certificatePEM
        self.notAfter = notAfter
    }
}

/// Coordinator → agent: run a command on the node (a lifecycle hook such as draining it from Swarm or
/// Kubernetes before it is terminated), as root, without a shell unless `shell`.
public struct RunCommand: Codable, Sendable, Hashable {
    public var id: String
    public var command: [String]
    public var shell: Bool
    public var timeoutSeconds: Double
    public var environment: [String: String]
    public init(id: String, command: [String], shell: Bool, timeoutSeconds: Double, environment: [String: String]) {
        self.id = id
        self.command = command
        self.shell = shell
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }
}

/// Agent → coordinator: how a `RunCommand` ended, with the start of its output.
public struct CommandResult: Codable, Sendable, Hashable {
    public var id: String
    public var exitStatus: Int32?
    public var timedOut: Bool
    public var output: String
    public init(id: String, exitStatus: Int32?, timedOut: Bool, output: String) {
        self.id = id
        self.exitStatus = exitStatus
        self.timedOut = timedOut
        self.output = output
    }
    public var succeeded: Bool { exitStatus == 0 && !timedOut }
}

public enum WireMessage: Sendable, Hashable {
    case hello(Hello)
    case welcome(Welcome)
    case enrol(Enrol)
    case enrolled(Enrolled)
    case heartbeat(Heartbeat)
    case push(Push)
    case ack(Ack)
    case bye(Bye)
    case refused(Refused)
    case renew(Renew)
    case renewed(Renewed)
    case runCommand(RunCommand)
    case commandResult(CommandResult)
    case keepAlive(KeepAlive)
    /// A message type this build does not know and that the sender marked optional.
    case ignored(type: UInt16)

    public var type: MessageType? {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .enrol: .enrol
        case .enrolled: .enrolled
        case .heartbeat: .heartbeat
        case .push: .push
        case .ack: .ack
        case .bye: .bye
        case .refused: .refused
        case .renew: .renew
        case .renewed: .renewed
        case .runCommand: .runCommand
        case .commandResult: .commandResult
        case .keepAlive: .keepAlive
        case .ignored: nil
        }
    }
}
