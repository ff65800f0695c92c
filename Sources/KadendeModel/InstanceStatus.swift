/// What a provider says about a node's machine: the third health signal, beside heartbeats and probes.
public enum InstanceStatus: String, Sendable, Hashable, Codable {
    case pending, running, stopped, terminated
    /// Running, but the provider's own checks of the machine fail (EC2's instance or system status "impaired").
    case impaired
}
