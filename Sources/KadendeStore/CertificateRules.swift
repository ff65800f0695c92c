import KadendeModel
import struct Foundation.Date

/// What a renewal may do, decided once for both stores from the rows its transaction read: a renewal checks as much
/// as a hello does (the certificate it replaces is one the coordinator issued to this node and still honours, and
/// the node is alive), and it revokes what it replaces, so no certificate outlives its successor.
public enum CertificateRules {
    public struct Renewal: Sendable {
        public var revoke: String
        public var record: CertificateRecord
        public var event: NodeEvent
    }

    public static func renewal(replacing current: CertificateRecord?, serial: String, node: NodeRecord?, new: CertificateRecord,
                               at: Date) throws(StoreError) -> Renewal {
        guard let current, current.nodeID == new.nodeID else {
            throw StoreError(.revoked, "certificate \(serial) is not one this coordinator issued to \(new.nodeID)")
        }
        guard !current.revoked else { throw StoreError(.revoked, "certificate \(serial) was revoked") }
        guard let node else { throw StoreError(.notFound, "node \(new.nodeID) does not exist") }
        guard node.state.isActive else {
            throw StoreError(.nodeFinished, "node \(node.id) is \(node.state.rawValue): it gets no new certificate")
        }
        return Renewal(revoke: serial, record: new, event: NodeEvent(
            at: at, cluster: node.cluster, group: node.group, nodeID: node.id, kind: .certificateRenewed,
            reason: "certificate \(new.serial) issued; \(serial), which it replaces, is revoked"))
    }
}

/// When a spent enrolment token may be answered again: the agent keeps the key of an enrolment in flight until its
/// certificate arrives, so one whose answer was lost (a connection cut, a coordinator too slow for the agent's
/// deadline) tries again with the same key. Without this the node could never enrol: its only token is spent.
public enum EnrolmentRules {
    public static func retry(boundNode: String, usedAt: Double?, keyDigest: String?, presented: String, node: NodeRecord?,
                             certificate: CertificateRecord, grace: Double, at: Date) throws(StoreError) -> NodeEvent {
        guard certificate.nodeID == boundNode else { throw StoreError(.invalidToken, "token is bound to another node") }
        guard let usedAt, let keyDigest, keyDigest == presented, at.timeIntervalSince1970 - usedAt <= grace else {
            throw StoreError(.tokenUsed, "enrolment token was already used")
        }
        guard let node, node.state == .enrolling || node.state == .provisioning else {
            throw StoreError(.tokenUsed, "enrolment token was already used, and the node has enrolled since")
        }
        return NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: node.id, kind: .nodeEnrolled,
                         reason: "certificate \(certificate.serial) issued again for the key of the first enrolment, whose answer was lost")
    }
}

