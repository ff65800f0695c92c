/// A node's lifecycle, as DESIGN.md fixes it:
/// `requested → provisioning → enrolling → healthy ⇄ suspect → unhealthy → terminating → terminated`,
/// plus `failed` for a node that never enrolled. Every change goes through `canTransition` so an illegal one
/// is refused instead of silently recorded.
public enum NodeState: String, Codable, Sendable, CaseIterable {
    case requested
    case provisioning
    case enrolling
    case healthy
    case suspect
    case unhealthy
    case terminating
    case terminated
    case failed

    /// States whose node counts towards the group's size.
    public var isActive: Bool {
        switch self {
        case .requested, .provisioning, .enrolling, .healthy, .suspect: true
        case .unhealthy, .terminating, .terminated, .failed: false
        }
    }

    /// States after which no machine should exist any more.
    public var isFinal: Bool { self == .terminated || self == .failed }

    /// States in which the node has not yet proven itself (no heartbeat since it was created).
    public var isStarting: Bool { self == .requested || self == .provisioning || self == .enrolling }

    public func canTransition(to next: NodeState) -> Bool {
        switch (self, next) {
        case (.requested, .provisioning),
             (.provisioning, .enrolling),
             (.enrolling, .healthy),
             // An adopted node whose agent already holds a certificate goes straight to healthy.
             (.provisioning, .healthy),
             (.healthy, .suspect), (.suspect, .healthy),
             (.healthy, .unhealthy), (.suspect, .unhealthy),
             (.unhealthy, .terminating),
             // Scale-down and group deletion terminate nodes that are not sick.
             (.requested, .terminating), (.provisioning, .terminating), (.enrolling, .terminating),
             (.healthy, .terminating), (.suspect, .terminating),
             (.terminating, .terminated),
             // A node that never enrolled within the startup timeout, or whose create failed.
             (.requested, .failed), (.provisioning, .failed), (.enrolling, .failed):
            true
        default:
            false
        }
    }
}
