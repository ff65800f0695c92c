import Crypto
import Foundation
import KadendeGateway
import KadendeModel
import KadendePKI
import KadendeWire
import NIOCore
import Testing
import X509

/// Bad input at the agent gateway, over real TLS on loopback: each case gets a clear refusal and changes no state.
@Suite struct GatewaySecurityTests {
    func withCoordinator(clock: ManualClock? = nil, _ body: (InProcessCoordinator, RawAgent) async throws -> Void) async throws {
        let c = try await InProcessCoordinator(clock: clock)
        do {
            try await body(c, RawAgent(port: c.coordinator.agentPort, pin: c.coordinator.ca.pin))
        } catch {
            await c.stop()
            throw error
        }
        await c.stop()
    }

    func refusal(_ replies: [WireMessage]) -> RefusalCode? {
        if case .refused(let r)? = replies.first { return r.code }
        return nil
    }

    func eventCount(_ c: InProcessCoordinator) async throws -> Int {
        try await c.store.listEvents(cluster: nil, group: nil, after: 0, limit: 10_000).count
    }

    @Test func enrolledAgentIsWelcomedAndHealthy() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            #expect(CertificateTools.commonName(of: identity.certificate.subject) == nodeID)
            let replies = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity)
            guard case .welcome? = replies.first else { Issue.record("expected welcome, got \(replies)"); return }
            #expect(try await c.store.node(id: nodeID)?.state == .healthy)
        }
    }

    @Test func connectionWithoutClientCertificateMayOnlyEnrol() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, _) = try await c.makeNode()
            let before = try await eventCount(c)
            let hello = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: nil)
            #expect(refusal(hello) == .clientCertificateRequired)
            let beat = try await agent.send([.heartbeat(Heartbeat(nodeID: nodeID, seq: 1, sentAt: Date()))], identity: nil)
            #expect(refusal(beat) == .clientCertificateRequired)
            #expect(try await c.store.node(id: nodeID)?.state == .requested)
            #expect(c.coordinator.tracker.lastHeartbeat(nodeID) == nil)
            #expect(try await eventCount(c) == before)
        }
    }

    @Test func certificateFromAnotherCAIsRejectedInTheHandshake() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, _) = try await c.makeNode()
            let before = try await eventCount(c)
            let forger = try CertificateAuthority.create(commonName: "forger", now: Date())
            let key = P256.Signing.PrivateKey()
            let forged = try forger.issueNodeCertificate(csrDER: Array(NodeIdentity.makeCSR(nodeID: nodeID, key: key)),
                                                         nodeID: nodeID, lifetime: 3600, now: Date())
            let identity = NodeIdentity(key: key, certificate: forged, ca: forger.certificate)
            await #expect(throws: (any Error).self) {
                let replies = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity)
                // A closed connection with nothing said also counts as refused; a welcome would not.
                if replies.isEmpty { throw UnexpectedReply(replies: replies) }
                Issue.record("forged certificate got an answer: \(replies)")
            }
            #expect(try await c.store.node(id: nodeID)?.state == .requested)
            #expect(!c.coordinator.tracker.isConnected(nodeID))
            #expect(try await eventCount(c) == before)
        }
    }

    @Test func enrolmentTokenIsSingleUse() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            _ = try await agent.enrol(nodeID: nodeID, token: token)
            let before = try await eventCount(c)
            let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey())
            let again = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            #expect(refusal(again) == .tokenUsed)
            #expect(try await eventCount(c) == before)
            // Both are in the audit log: the enrolment, and the second try with the spent token, from where they came.
            let cluster = try await c.store.node(id: nodeID)?.cluster
            let audit = try await c.store.audit(after: 0, limit: 1_000).filter { $0.action == "node.enrol" && $0.target == nodeID }
            #expect(audit.map(\.outcome.first) == ["o", "r"], "\(audit.map(\.outcome))")
            #expect(audit.first?.outcome == "ok" && audit.last?.outcome.hasPrefix("refused: token_used") == true, "\(audit.map(\.outcome))")
            #expect(audit.allSatisfy { $0.actor == "node \(nodeID)" && $0.cluster == cluster && $0.source == "127.0.0.1" },
                    "\(audit)")
        }
    }

    /// An enrolment tried again with the same key (its `enrolled` was lost on the way) is answered again; with
    /// another key, or once the node has said hello, the spent token is refused.
    @Test func anEnrolmentWhoseAnswerWasLostIsAnsweredAgainForTheSameKeyOnly() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let key = P256.Signing.PrivateKey()
            let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: key)
            let first = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            guard case .enrolled? = first.first else { Issue.record("\(first)"); return }
            let again = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            guard case .enrolled(let enrolled)? = again.first else { Issue.record("the same key was refused: \(again)"); return }
            let other = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token,
                                                           csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey())))], identity: nil)
            #expect(refusal(other) == .tokenUsed)
            let identity = NodeIdentity(key: key, certificate: try Certificate(pemEncoded: enrolled.certificatePEM), ca: c.coordinator.ca.certificate)
            guard case .welcome? = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity).first else {
                Issue.record("the certificate given again does not open a session"); return
            }
            let late = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            #expect(refusal(late) == .tokenUsed, "after hello the token is spent for good")
        }
    }

    @Test func expiredTokenIsRefused() async throws {
        let clock = ManualClock()
        try await withCoordinator(clock: clock) { c, agent in
            let (nodeID, token) = try await c.makeNode(tokenLifetime: 900)
            clock.advance(by: 901)
            let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey())
            let replies = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            #expect(refusal(replies) == .tokenExpired)
            #expect(try await c.store.node(id: nodeID)?.state == .requested)
        }
    }

    @Test func csrForAnotherNodeIsRefusedAndTheTokenSurvives() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let (otherID, _) = try await c.makeNode()
            let csr = try NodeIdentity.makeCSR(nodeID: otherID, key: P256.Signing.PrivateKey())
            let replies = try await agent.send([.enrol(Enrol(nodeID: nodeID, token: token, csrDER: csr))], identity: nil)
            #expect(refusal(replies) == .invalidCSR)
            // The token of one node cannot be spent on another's name either.
            let claim = try await agent.send([.enrol(Enrol(nodeID: otherID, token: token, csrDER: csr))], identity: nil)
            #expect(refusal(claim) == .invalidToken)
            #expect(try await c.store.checkToken(hash: EnrolmentToken.hash(token), now: c.now) == nodeID)
            #expect(try await c.store.node(id: nodeID)?.state == .requested)
        }
    }

    @Test func frameOverTheLimitIsRefused() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let huge = Frame(flags: .required, type: MessageType.heartbeat.rawValue,
                             payload: ByteBuffer(repeating: UInt8(ascii: "x"), count: (1 << 20) + 1))
            let replies = try await agent.exchange([huge], identity: identity)
            #expect(refusal(replies) == .frameTooLarge)
            #expect(c.coordinator.tracker.lastHeartbeat(nodeID) == nil)
        }
    }

    @Test func garbageFrameIsRefused() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let garbage = Frame(flags: .required, type: MessageType.hello.rawValue, payload: ByteBuffer(bytes: [0xFF, 0x00, 0x13, 0x37]))
            #expect(refusal(try await agent.exchange([garbage], identity: identity)) == .malformedFrame)
            let future = Frame(flags: .required, type: 4242, payload: ByteBuffer(string: "{}"))
            #expect(refusal(try await agent.exchange([future], identity: identity)) == .unknownMessage)
            #expect(try await c.store.node(id: nodeID)?.state == .enrolling)
        }
    }

    @Test func unknownOptionalMessageIsIgnored() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let optional = Frame(flags: [], type: 4242, payload: ByteBuffer(string: "{}"))
            let replies = try await agent.exchange(
                [optional, try WireCodec.encode(.hello(Hello(nodeID: nodeID, agentVersion: "test")))], identity: identity)
            guard case .welcome? = replies.first else { Issue.record("expected welcome after an ignored message, got \(replies)"); return }
        }
    }

    @Test func messageClaimingAnotherNodeIsRefused() async throws {
        try await withCoordinator { c, agent in
            let (nodeA, tokenA) = try await c.makeNode()
            let (nodeB, tokenB) = try await c.makeNode()
            let identityA = try await agent.enrol(nodeID: nodeA, token: tokenA)
            _ = try await agent.enrol(nodeID: nodeB, token: tokenB)
            let hello = try await agent.send([.hello(Hello(nodeID: nodeB, agentVersion: "test"))], identity: identityA)
            #expect(refusal(hello) == .identityMismatch)
            let replies = try await agent.send([
                .hello(Hello(nodeID: nodeA, agentVersion: "test")),
                .heartbeat(Heartbeat(nodeID: nodeB, seq: 1, sentAt: Date())),
            ], identity: identityA, expect: 2)
            #expect(refusal(Array(replies.dropFirst())) == .identityMismatch)
            #expect(c.coordinator.tracker.lastHeartbeat(nodeB) == nil)
            #expect(try await c.store.node(id: nodeB)?.state == .enrolling)
        }
    }

    @Test func terminatedNodesCertificateIsRefused() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            try await c.store.transition(nodeID: nodeID, to: .terminating, reason: "test", at: c.now)
            let replies = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity)
            #expect(refusal(replies) == .certificateRevoked)
        }
    }

    @Test func certificateIsRenewedOverTheAuthenticatedConnection() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let key = P256.Signing.PrivateKey()
            let replies = try await agent.send([
                .hello(Hello(nodeID: nodeID, agentVersion: "test")),
                .renew(Renew(csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: key))),
            ], identity: identity, expect: 2)
            guard case .renewed(let renewed)? = replies.last else { Issue.record("expected renewed, got \(replies)"); return }
            let certificate = try Certificate(pemEncoded: renewed.certificatePEM)
            #expect(certificate.publicKey == Certificate.PublicKey(key.publicKey))
            #expect(CertificateTools.commonName(of: certificate.subject) == nodeID)
            // A renewal cannot be used to obtain a certificate for another node (another node's connection: the first
            // certificate was revoked by its renewal).
            let (secondID, secondToken) = try await c.makeNode()
            let second = try await agent.enrol(nodeID: secondID, token: secondToken)
            let other = try await agent.send([
                .hello(Hello(nodeID: secondID, agentVersion: "test")),
                .renew(Renew(csrDER: try NodeIdentity.makeCSR(nodeID: "n-ffffffffffffffff", key: key))),
            ], identity: second, expect: 2)
            #expect(refusal(Array(other.dropFirst())) == .invalidCSR)
        }
    }

    /// A renewal checks what hello checks and revokes the certificate it replaces; the renewing connection goes on
    /// under the new one. Defends against a node being terminated that renewed into a fresh, unrevoked certificate.
    @Test func aRenewalRevokesTheOldCertificateAndIsRefusedToATerminatedNode() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let old = CertificateTools.serialHex(identity.certificate)
            let key = P256.Signing.PrivateKey()
            let replies = try await agent.send([
                .hello(Hello(nodeID: nodeID, agentVersion: "test")),
                .renew(Renew(csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: key))),
                .heartbeat(Heartbeat(nodeID: nodeID, seq: 1, sentAt: Date())),
                .renew(Renew(csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey()))),
            ], identity: identity, expect: 3)
            guard case .renewed(let renewed)? = replies.dropFirst().first else { Issue.record("expected renewed, got \(replies)"); return }
            // The same connection renews again: it speaks for the new certificate now, not the revoked one.
            guard case .renewed? = replies.last else { Issue.record("the renewing connection was cut: \(replies)"); return }
            #expect(try await c.store.certificate(serial: old)?.revoked == true)
            // The old certificate opens nothing any more.
            #expect(refusal(try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity)) == .certificateRevoked)
            // Terminated: its certificate, however fresh, renews nothing.
            let fresh = NodeIdentity(key: key, certificate: try Certificate(pemEncoded: renewed.certificatePEM), ca: identity.ca)
            try await c.store.transition(nodeID: nodeID, to: .terminating, reason: "test", at: c.now)
            let late = try await agent.send([.renew(Renew(csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey())))],
                                            identity: fresh)
            #expect(refusal(late) != nil, "\(late)")
        }
    }

    /// A node terminated while connected is dropped, whoever terminated it: the gateway learns of it from the
    /// store's events (the write here goes to the store directly, as another replica's would). Defends against a
    /// terminated node that kept talking to a replica other than the one that terminated it.
    @Test func aConnectedNodeTerminatedThroughTheStoreIsDropped() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let session = Task { try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity, expect: 2) }
            try await eventually("the node is connected") { c.coordinator.tracker.isConnected(nodeID) }
            // On its way out the node keeps its connection (its preTerminate hook runs over it); terminated, it is cut.
            try await c.store.transition(nodeID: nodeID, to: .terminating, reason: "terminated by another replica", at: c.now)
            try await c.store.transition(nodeID: nodeID, to: .terminated, reason: "machine destroyed by another replica", at: c.now)
            let replies = try await session.value
            // The connection ended (the exchange returned rather than timing out), with nothing said but perhaps the
            // welcome: the drop may come before the welcome is out.
            #expect(replies.allSatisfy { if case .welcome = $0 { true } else { false } } && replies.count <= 1, "\(replies)")
            try await eventually("the coordinator counts the node as disconnected") { !c.coordinator.tracker.isConnected(nodeID) }
        }
    }

    /// A group stored before today's bounds (written to the store directly, as an old row would be) with a heartbeat
    /// interval no conversion takes: the first hello of one of its nodes once stopped the coordinator ("Double value
    /// cannot be converted to Int"), and again after every restart. Now the welcome carries the longest interval an
    /// agent accepts and the coordinator goes on serving.
    @Test func aStoredSpecBeyondTheBoundsDoesNotStopTheCoordinatorAtHello() async throws {
        try await withCoordinator { c, agent in
            // A provider this coordinator does not have: the reconcile loop leaves the test's nodes alone.
            var spec = GroupSpec(name: "huge", provider: "none-here", size: .init(desired: 0, min: 0, max: 1))
            spec.health.heartbeatInterval = Seconds(1e17)
            spec.health.heartbeatTimeout = Seconds(2e17)
            spec.health.probes = [ProbeSpec(name: "p", check: .tcp(host: "127.0.0.1", port: 1), interval: 1e17, timeout: 1e17)]
            _ = try await c.store.applyGroup(spec, at: c.now)
            for _ in 0..<2 {
                let (nodeID, token) = try await c.makeNode(group: "huge")
                let identity = try await agent.enrol(nodeID: nodeID, token: token)
                let replies = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))], identity: identity)
                guard case .welcome(let welcome)? = replies.first else { Issue.record("expected welcome, got \(replies)"); return }
                #expect(welcome.heartbeatIntervalMillis == 300_000)
            }
        }
    }

    /// A heartbeat, an ack or a hello beyond `WireLimits` is refused with its code and changes nothing: the
    /// coordinator keeps no probe results of any number or size from a node.
    @Test func messagesBeyondTheWireLimitsAreRefused() async throws {
        try await withCoordinator { c, agent in
            let (nodeID, token) = try await c.makeNode()
            let identity = try await agent.enrol(nodeID: nodeID, token: token)
            let many = (0..<65).map { ProbeResult(name: "p\($0)", status: .critical, output: "x") }
            let replies = try await agent.send([
                .hello(Hello(nodeID: nodeID, agentVersion: "test")),
                .heartbeat(Heartbeat(nodeID: nodeID, seq: 1, sentAt: Date(), probes: many)),
            ], identity: identity, expect: 2)
            #expect(refusal(Array(replies.dropFirst())) == .limitExceeded, "\(replies)")
            #expect(c.coordinator.tracker.snapshot(nodeID).probes.isEmpty)
            let version = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: String(repeating: "v\n", count: 500)))], identity: identity)
            #expect(refusal(version) == .limitExceeded)
            let ack = try await agent.send([
                .hello(Hello(nodeID: nodeID, agentVersion: "test")),
                .ack(Ack(revision: 1, outcome: .failed, message: String(repeating: "m", count: 100_000))),
            ], identity: identity, expect: 2)
            #expect(refusal(Array(ack.dropFirst())) == .limitExceeded)
        }
    }
}

/// What the coordinator keeps of a node's probes is bounded across heartbeats, not only per heartbeat: a node
/// that names new probes in every heartbeat once grew the tracker without end.
@Suite struct HeartbeatTrackerBoundsTests {
    @Test func probeResultsKeptPerNodeAreBounded() {
        let tracker = HeartbeatTracker()
        for batch in 0..<10 {
            let results = (0..<WireLimits.probeResults).map { ProbeResult(name: "p\(batch)-\($0)", status: .passing) }
            tracker.beat("n-0123456789abcdef", at: Date(), probes: results, full: false, summary: nil)
        }
        #expect(tracker.snapshot("n-0123456789abcdef").probes.count == WireLimits.probeResults)
        // A full set replaces what was kept.
        tracker.beat("n-0123456789abcdef", at: Date(), probes: [ProbeResult(name: "only", status: .critical)], full: true, summary: nil)
        #expect(tracker.snapshot("n-0123456789abcdef").probes.map(\.name) == ["only"])
    }
}
