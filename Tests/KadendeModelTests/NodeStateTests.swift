import KadendeModel
import Testing

@Suite struct NodeStateTests {
    /// Each legal edge of DESIGN.md's lifecycle, with why it exists.
    static let legal: [(NodeState, NodeState, String)] = [
        (.requested, .provisioning, "intent recorded, provider called"),
        (.provisioning, .enrolling, "agent redeemed its token"),
        (.enrolling, .healthy, "agent said hello over mutual TLS"),
        (.healthy, .suspect, "heartbeats late"),
        (.suspect, .healthy, "heartbeats back"),
        (.suspect, .unhealthy, "convicted"),
        (.healthy, .unhealthy, "convicted at once (provider says terminated)"),
        (.unhealthy, .terminating, "replacement starts"),
        (.terminating, .terminated, "instance destroyed"),
        (.enrolling, .failed, "startup timeout"),
        (.healthy, .terminating, "scale-down"),
    ]

    static let illegal: [(NodeState, NodeState, String)] = [
        (.terminated, .healthy, "a terminated node never comes back"),
        (.failed, .enrolling, "a failed node never comes back"),
        (.requested, .healthy, "a node cannot be healthy before it exists"),
        (.unhealthy, .healthy, "a convicted node is replaced, not pardoned"),
        (.healthy, .failed, "failed is only for nodes that never enrolled"),
        (.terminating, .healthy, "termination is not undone"),
        (.healthy, .terminated, "terminating is always recorded first"),
    ]

    @Test(arguments: legal.indices)
    func legalTransitions(index: Int) {
        let (from, to, why) = Self.legal[index]
        #expect(from.canTransition(to: to), "\(from) → \(to): \(why)")
    }

    @Test(arguments: illegal.indices)
    func illegalTransitions(index: Int) {
        let (from, to, why) = Self.illegal[index]
        #expect(!from.canTransition(to: to), "\(from) → \(to): \(why)")
    }

    @Test func nodeIDs() {
        let id = NodeID.make()
        #expect(NodeID.isValid(id))
        #expect(!NodeID.isValid("n-XYZ"))
        #expect(!NodeID.isValid("../../etc/passwd"))
        #expect(!NodeID.isValid(id + "0"))
    }
}
