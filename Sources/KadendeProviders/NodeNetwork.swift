import KadendeSupport

/// Where process nodes live on the network.
public enum ProcessNetwork: Sendable, Hashable {
    /// Agents share the coordinator's network namespace and dial the advertised endpoints.
    case shared
    /// Each node gets a network namespace of its own, joined to the coordinator's namespace by a veth pair with a
    /// /30 from `subnet` (a /16, e.g. 10.213.0.0/16). A partition is then a real cut: take the link down or drop
    /// packets inside the node's namespace. Needs root.
    case namespaces(subnet: IPv4Subnet)
}

public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    public let base: UInt32

    /// Parses `a.b.0.0/16`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, parts[1] == "16" else { return nil }
        let octets = parts[0].split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4, octets[2] == 0, octets[3] == 0 else { return nil }
        base = UInt32(octets[0]) << 24 | UInt32(octets[1]) << 16
    }

    public var description: String { "\(Self.format(base))/16" }

    /// Slots of four addresses: network, coordinator side, node side, broadcast.
    public static let slots = 16_384

    func coordinatorAddress(slot: Int) -> String { Self.format(base + UInt32(slot * 4) + 1) }
    func nodeAddress(slot: Int) -> String { Self.format(base + UInt32(slot * 4) + 2) }

    static func format(_ address: UInt32) -> String {
        [24, 16, 8, 0].map { String((address >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }
}

/// Creates and removes a node's namespace with `ip` (iproute2). Every step's failure names the command.
enum NamespaceSetup {
    static let ip = "/usr/sbin/ip"

    static func names(nodeID: String) -> (namespace: String, hostLink: String, nodeLink: String) {
        let suffix = String(nodeID.suffix(10))
        return ("kadende-" + nodeID, "kdh" + suffix, "kdn" + suffix)
    }

    static func create(nodeID: String, slot: Int, subnet: IPv4Subnet) throws(ProviderError) {
        let (ns, host, node) = names(nodeID: nodeID)
        let hostAddress = subnet.coordinatorAddress(slot: slot) + "/30"
        let nodeAddress = subnet.nodeAddress(slot: slot) + "/30"
        let steps: [[String]] = [
            ["netns", "add", ns],
            ["link", "add", host, "type", "veth", "peer", "name", node],
            ["link", "set", node, "netns", ns],
            ["addr", "add", hostAddress, "dev", host],
            ["link", "set", host, "up"],
            ["-n", ns, "addr", "add", nodeAddress, "dev", node],
            ["-n", ns, "link", "set", node, "up"],
            ["-n", ns, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let status: Int32
            do {
                status = try Spawn.run(ip, step)
            } catch {
                remove(nodeID: nodeID)
                throw ProviderError(.createFailed, provider: "process", "ip \(step.joined(separator: " ")): \(error)")
            }
            guard status == 0 else {
                remove(nodeID: nodeID)
                throw ProviderError(.createFailed, provider: "process", "ip \(step.joined(separator: " ")) exited \(status)")
            }
        }
    }

    /// Deleting the namespace also deletes the veth pair. Idempotent.
    static func remove(nodeID: String) {
        let (ns, host, _) = names(nodeID: nodeID)
        _ = try? Spawn.run(ip, ["netns", "del", ns])
        _ = try? Spawn.run(ip, ["link", "del", host])
    }
}
