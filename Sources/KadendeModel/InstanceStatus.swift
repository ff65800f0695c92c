/// What a provider says about a node's machine: the third health signal, beside heartbeats and probes.
public enum InstanceStatus: String, Sendable, Hashable, Codable {
    case pending, running, stopped, terminated
}
