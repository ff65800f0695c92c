import KadendeModel
import KadendePKI
import KadendeStore
import KadendeSupport
import KadendeWire
import X509
import struct Foundation.Date

/// Turns a single-use token and a CSR into a client certificate naming the token's node. Every refusal leaves
/// the store as it was: the token is used up only in the transaction that records the certificate.
public struct EnrolmentService: Sendable {
    let store: any Store
    let ca: CertificateAuthority
    let certificateLifetime: Double
    /// Refused enrolments come from anyone who reaches the port: what they may make the audit log hold is bounded.
    let refusals = SharedWriteAllowance()

    public init(store: any Store, ca: CertificateAuthority, certificateLifetime: Double) {
        self.store = store
        self.ca = ca
        self.certificateLifetime = certificateLifetime
    }

    /// `enrol`, with its outcome in the audit log (`node.enrol`): the node, its cluster, the address it came from,
    /// and why a refusal was refused. A failure to write the entry (the store away) is not held against the node.
    public func enrol(_ request: Enrol, now: Date, source: String) async throws(WireError) -> Enrolled {
        let outcome: Result<Enrolled, WireError>
        do {
            outcome = .success(try await enrol(request, now: now))
        } catch {
            outcome = .failure(error)
        }
        let nodeID = OutsideText.sanitized(request.nodeID, limit: 64)
        let result: String
        switch outcome {
        case .success: result = "ok"
        case .failure(let error):
            let (allowed, leftOut) = refusals.take(source: source, now: now.timeIntervalSince1970)
            guard allowed else { return try outcome.get() }
            result = SharedWriteAllowance.outcome("refused: \(error.code.rawValue): \(OutsideText.sanitized(error.message, limit: 200))", leftOut: leftOut)
        }
        let cluster = NodeID.isValid(request.nodeID) ? (try? await store.node(id: request.nodeID))?.cluster : nil
        _ = try? await store.appendAudit(AuditEntry(at: now, actor: "node \(nodeID)", action: "node.enrol", cluster: cluster,
                                                    target: nodeID, outcome: result, source: source))
        return try outcome.get()
    }

    public func enrol(_ request: Enrol, now: Date) async throws(WireError) -> Enrolled {
        guard NodeID.isValid(request.nodeID) else {
            throw WireError(.invalidToken, "\"\(request.nodeID.prefix(40))\" is not a node id")
        }
        let hash = EnrolmentToken.hash(request.token)
        let boundNode: String
        do {
            boundNode = try await store.checkToken(hash: hash, now: now)
        } catch let error as StoreError where error.code == .tokenUsed {
            return try await enrolAgain(request, tokenHash: hash, now: now)
        } catch let error as StoreError {
            throw Self.refusal(error)
        } catch {
            throw WireError(.internalError, "store unavailable")
        }
        guard boundNode == request.nodeID else {
            throw WireError(.invalidToken, "token is not bound to node \(request.nodeID)")
        }
        let certificate: Certificate
        do {
            certificate = try ca.issueNodeCertificate(csrDER: Array(request.csrDER), nodeID: boundNode, lifetime: certificateLifetime, now: now)
        } catch {
            throw WireError(.invalidCSR, error.message)
        }
        let record = CertificateRecord(serial: CertificateTools.serialHex(certificate), nodeID: boundNode,
                                       notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter)
        do {
            try await store.redeemToken(hash: hash, certificate: record, keyDigest: NodeIdentity.keyDigest(certificate.publicKey), at: now)
            return Enrolled(certificatePEM: try CertificateTools.pem(certificate), caPEM: ca.pem, notAfter: certificate.notValidAfter)
        } catch let error as StoreError {
            throw Self.refusal(error)
        } catch {
            throw WireError(.internalError, "cannot record certificate")
        }
    }

    /// How long after a token was spent the same key may enrol with it again (its first answer lost).
    static let retryGrace: Double = 15 * 60

    /// A spent token presented again: answered only for the key it was spent for, soon after, by a node that has not
    /// said hello since (`EnrolmentRules.retry`); `token_used` otherwise.
    private func enrolAgain(_ request: Enrol, tokenHash: String, now: Date) async throws(WireError) -> Enrolled {
        let certificate: Certificate
        do {
            certificate = try ca.issueNodeCertificate(csrDER: Array(request.csrDER), nodeID: request.nodeID, lifetime: certificateLifetime, now: now)
        } catch {
            throw WireError(.tokenUsed, "enrolment token was already used")
        }
        let record = CertificateRecord(serial: CertificateTools.serialHex(certificate), nodeID: request.nodeID,
                                       notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter)
        do {
            try await store.reissueEnrolment(tokenHash: tokenHash, keyDigest: NodeIdentity.keyDigest(certificate.publicKey), certificate: record,
                                             grace: Self.retryGrace, at: now)
            return Enrolled(certificatePEM: try CertificateTools.pem(certificate), caPEM: ca.pem, notAfter: certificate.notValidAfter)
        } catch let error as StoreError {
            throw Self.refusal(error)
        } catch {
            throw WireError(.internalError, "cannot record certificate")
        }
    }

    /// Issues a fresh certificate to an authenticated node (renewal at two thirds of its life) in place of `serial`,
    /// the one its connection presented: checked as hello checks it (issued here to this node, not revoked, the node
    /// alive) and revoked as the new one is recorded. Returns the new certificate's serial with it.
    public func renew(nodeID: String, replacing serial: String, csrDER: [UInt8], now: Date) async throws(WireError) -> (Renewed, serial: String) {
        let certificate: Certificate
        do {
            certificate = try ca.issueNodeCertificate(csrDER: csrDER, nodeID: nodeID, lifetime: certificateLifetime, now: now)
        } catch {
            throw WireError(.invalidCSR, error.message)
        }
        let record = CertificateRecord(serial: CertificateTools.serialHex(certificate), nodeID: nodeID,
                                       notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter)
        do {
            try await store.renewCertificate(replacing: serial, with: record, at: now)
            return (Renewed(certificatePEM: try CertificateTools.pem(certificate), notAfter: certificate.notValidAfter), record.serial)
        } catch let error as StoreError {
            switch error.code {
            case .revoked: throw WireError(.certificateRevoked, error.message)
            case .nodeFinished: throw WireError(.nodeTerminated, error.message)
            case .notFound: throw WireError(.unknownNode, error.message)
            default: throw WireError(.internalError, "cannot record certificate")
            }
        } catch {
            throw WireError(.internalError, "cannot record certificate")
        }
    }

    private static func refusal(_ error: StoreError) -> WireError {
        switch error.code {
        case .tokenExpired: WireError(.tokenExpired, error.message)
        case .tokenUsed: WireError(.tokenUsed, error.message)
        case .invalidToken, .notFound: WireError(.invalidToken, error.message)
        default: WireError(.internalError, "store error")
        }
    }
}

