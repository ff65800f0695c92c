import KadendeModel
import KadendePKI
import KadendeStore
import KadendeSupport
import KadendeWire
import Logging
import NIOCore
import NIOSSL
import X509
import struct Foundation.Date

/// One agent connection. Identity comes from the client certificate only: a message that names another node is
/// refused, and a connection without a certificate may only enrol.
struct AgentSession: Sendable {
    let gateway: AgentGateway
    let channel: any Channel
    let remote: String
    private(set) var nodeID: String?
    private var serial: String?
    private var identityResolved = false
    private(set) var helloDone = false

    init(gateway: AgentGateway, channel: any Channel, remote: String) {
        self.gateway = gateway
        self.channel = channel
        self.remote = remote
    }

    /// The peer's IP address, as the audit log records sources.
    var remoteAddress: String { channel.remoteAddress?.ipAddress ?? remote }

    var logger: Logger {
        var l = gateway.logger
        l[metadataKey: "remote"] = "\(remote)"
        if let nodeID { l[metadataKey: "node.id"] = "\(nodeID)" }
        return l
    }

    mutating func run(inbound: NIOAsyncChannelInboundStream<Frame>, outbound: NIOAsyncChannelOutboundWriter<Frame>) async throws {
        do {
            for try await frame in inbound {
                let message = try WireCodec.decode(frame)
                let reply: WireMessage?
                if identityResolved, case .answered(let answer) = try handleNow(message) {
                    reply = answer
                } else {
                    let (next, outcome) = await Self.exchangeOnItsOwnTask(self, message)
                    self = next
                    reply = try outcome.get()
                }
                guard let reply else { continue }
                try await outbound.write(WireCodec.encode(reply))
                if case .enrolled = reply { return }  // enrolment is one exchange; the agent reconnects with its certificate
            }
        } catch let error as WireError {
            // A reason may quote what the peer sent: one line, cut, for the log and for the peer alike.
            let reason = OutsideText.sanitized(error.message, limit: WireLimits.reasonLength)
            logger.warning("refusing agent", metadata: ["code": "\(error.code.rawValue)", "reason": "\(reason)"])
            // Best effort: the peer may already be gone.
            try? await outbound.write(WireCodec.encode(.refused(Refused(code: error.code, reason: reason))))
        }
    }

    /// The exchanges that reach the store (identity, enrolment, hello, renewal) run on a child task that ends with
    /// them. A connection's own task lives as long as the agent stays connected, and Swift's task allocator keeps
    /// every slab a task ever needed until the task ends: the deep store calls of one hello, made on the connection's
    /// task, cost about 16 KiB per agent for the connection's whole life. Heartbeats and acks stay here, shallow and
    /// synchronous.
    private static func exchangeOnItsOwnTask(_ session: AgentSession, _ message: WireMessage) async -> (AgentSession, Result<WireMessage?, any Error>) {
        await withTaskGroup(of: (AgentSession, Result<WireMessage?, any Error>).self) { group in
            group.addTask {
                var session = session
                do {
                    if !session.identityResolved { try await session.resolveIdentity() }
                    let reply = try await session.handle(message)
                    return (session, .success(reply))  // after handle: the session it changed
                } catch {
                    // What was learnt before the failure (the node's identity) still names it in the refusal's log line.
                    return (session, .failure(error))
                }
            }
            return await group.next() ?? (session, .failure(CancellationError()))
        }
    }

    /// Reads the peer certificate once the handshake is done (it is, once a frame has arrived).
    private mutating func resolveIdentity() async throws {
        identityResolved = true
        let channel = self.channel
        let peer = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.nioSSL_peerCertificate()
        }.get()
        guard let peer else { return }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: try peer.toDERBytes())
        } catch {
            throw WireError(.identityMismatch, "client certificate does not parse")
        }
        guard let name = CertificateTools.commonName(of: certificate.subject), NodeID.isValid(name) else {
            throw WireError(.identityMismatch, "client certificate does not name a node")
        }
        guard CertificateTools.hasUsage(certificate, .clientAuth) else {
            throw WireError(.identityMismatch, "certificate is not a client certificate")
        }
        nodeID = name
        serial = CertificateTools.serialHex(certificate)
    }

    /// What a message needs: answered at once (perhaps with nothing to send back), or an exchange with the store.
    private enum Handling {
        case answered(WireMessage?)
        case needsStore
    }

    /// Messages handled without awaiting anything, on the connection's task.
    private func handleNow(_ message: WireMessage) throws(WireError) -> Handling {
        let now = gateway.now()
        switch message {
        case .ignored(let type):
            logger.debug("ignoring optional message", metadata: ["type": "\(type)"])
            return .answered(nil)
        case .heartbeat(let beat):
            let node = try authenticated(claim: beat.nodeID)
            guard helloDone else { throw WireError(.unexpectedMessage, "heartbeat before hello") }
            gateway.tracker.beat(node, at: now, probes: beat.probes, full: beat.full ?? false, summary: beat.summary)
            return .answered(nil)
        case .ack(let ack):
            let node = try authenticated(claim: nil)
            guard helloDone else { throw WireError(.unexpectedMessage, "ack before hello") }
            gateway.configDelivery?.acknowledged(nodeID: node, ack: ack, at: now)
            return .answered(nil)
        case .bye(let bye):
            logger.info("agent said goodbye", metadata: ["reason": "\(OutsideText.sanitized(bye.reason, limit: 200))"])
            throw WireError(.unexpectedMessage, "closing after bye")
        case .commandResult(let result):
            let node = try authenticated(claim: nil)
            guard helloDone else { throw WireError(.unexpectedMessage, "command result before hello") }
            gateway.complete(result, from: node)
            return .answered(nil)
        case .welcome, .enrolled, .push, .refused, .renewed, .runCommand, .keepAlive:
            throw WireError(.unexpectedMessage, "\(message.type.map { "\($0)" } ?? "message") is sent by coordinators, not agents")
        case .enrol, .hello, .renew:
            return .needsStore
        }
    }

    private mutating func handle(_ message: WireMessage) async throws(WireError) -> WireMessage? {
        if case .answered(let reply) = try handleNow(message) { return reply }
        let now = gateway.now()
        switch message {
        case .enrol(let request):
            guard nodeID == nil else { throw WireError(.unexpectedMessage, "this connection is already authenticated") }
            let enrolled = try await gateway.enrolment.enrol(request, now: now, source: remoteAddress)
            gateway.logger.info("node enrolled", metadata: ["node.id": "\(request.nodeID)", "remote": "\(remote)"])
            return .enrolled(enrolled)
        case .hello(let hello):
            let node = try authenticated(claim: hello.nodeID)
            guard !helloDone else { throw WireError(.unexpectedMessage, "hello sent twice") }
            let (interval, ceiling, probes, facts) = try await admit(node: node, version: hello.agentVersion, now: now)
            helloDone = true
            gateway.register(channel, node: node, serial: serial)
            gateway.tracker.beat(node, at: now)
            gateway.tracker.setConnected(node, true)
            logger.info("agent connected", metadata: ["agent.version": "\(OutsideText.sanitized(hello.agentVersion, limit: 64))"])
            let welcome = try Self.encode(.welcome(Welcome(coordinatorID: gateway.configuration.coordinatorID,
                                                                heartbeatIntervalMillis: Self.millis(interval, WireLimits.heartbeatIntervalSeconds),
                                                                serverTime: now,
                                                                probes: probes, facts: facts,
                                                                keepAliveMillis: Self.millis(Double(gateway.configuration.keepAlive.nanoseconds) / 1e9,
                                                                                             0.1...60))))
            // Welcome first, then the revision the node should run if it is behind: written in this order on one
            // channel, the agent always knows its facts before it renders a template.
            channel.write(welcome, promise: nil)
            if let push = await gateway.configDelivery?.agentConnected(nodeID: node, reported: hello.config, at: now) {
                channel.write(try Self.encode(.push(push)), promise: nil)
            }
            channel.flush()
            // Silence longer than twice the group's heartbeat ceiling closes the connection: the health judge has
            // long spoken by then, so a real agent is never cut before its node is judged.
            channel.triggerUserOutboundEvent(ReadIdleLimit(limit: .milliseconds(Int64(Clamp.milliseconds(2 * ceiling + 10)))), promise: nil)
            return nil
        case .renew(let renew):
            let node = try authenticated(claim: nil)
            guard helloDone else { throw WireError(.unexpectedMessage, "renew before hello") }
            guard let current = serial else { throw WireError(.certificateRevoked, "this connection's certificate is not known") }
            let (renewed, next) = try await gateway.enrolment.renew(nodeID: node, replacing: current, csrDER: Array(renew.csrDER), now: now)
            // The agent proved it held the old key and now holds the new one: this connection speaks for the new
            // certificate, and any other presenting the old one is dropped (`AgentGateway.followRevocations`).
            serial = next
            gateway.register(channel, node: node, serial: next)
            logger.info("certificate renewed", metadata: ["not_after": "\(renewed.notAfter)"])
            return .renewed(renewed)
        default:
            return nil  // handled above
        }
    }

    /// Seconds as the milliseconds a welcome carries, inside the bounds the agent checks: a group stored before
    /// those bounds existed cannot trap the conversion or get its agents to refuse the welcome.
    static func millis(_ seconds: Double, _ bounds: ClosedRange<Double>) -> Int {
        Int(clamping: seconds * 1000, to: Int(bounds.lowerBound * 1000)...Int(bounds.upperBound * 1000))
    }

    private static func encode(_ message: WireMessage) throws(WireError) -> Frame {
        do {
            return try WireCodec.encode(message)
        } catch {
            throw WireError(.internalError, "cannot encode \(message.type.map { "\($0)" } ?? "message"): \(error)")
        }
    }

    private func authenticated(claim: String?) throws(WireError) -> String {
        guard let nodeID else {
            throw WireError(.clientCertificateRequired, "a client certificate is required; enrol first")
        }
        if let claim, claim != nodeID {
            throw WireError(.identityMismatch, "certificate names \(nodeID) but the message claims \(claim.prefix(40))")
        }
        return nodeID
    }

    /// Checks that the certificate is one the coordinator issued and still honours, and that the node is alive;
    /// promotes a node that just enrolled to healthy. Returns the group's heartbeat interval and probes.
    private func admit(node: String, version: String, now: Date) async throws(WireError) -> (Double, Double, [ProbeSpec], [String: String]) {
        let store = gateway.store
        do {
            guard let serial, let record = try await store.certificate(serial: serial), record.nodeID == node else {
                throw WireError(.certificateRevoked, "certificate is not known to this coordinator")
            }
            guard !record.revoked else { throw WireError(.certificateRevoked, "certificate was revoked") }
            guard let nodeRecord = try await store.node(id: node) else {
                throw WireError(.unknownNode, "node \(node) is not known")
            }
            guard nodeRecord.state.isActive else {
                throw WireError(.nodeTerminated, "node \(node) is \(nodeRecord.state.rawValue)")
            }
            if nodeRecord.state == .enrolling || nodeRecord.state == .provisioning {
                do {
                    try await store.transition(nodeID: node, to: .healthy, reason: "agent connected over mutual TLS and said hello", at: now)
                } catch let error as StoreError where error.code == .illegalTransition {
                    // Two hellos of one node at once (an agent reconnecting before its first connection was noticed
                    // gone): the other made it healthy first. This one is a reconnection like any other.
                    guard try await store.node(id: node)?.state.isActive == true else { throw WireError(.nodeTerminated, "node \(node) is no longer active") }
                }
            } else {
                // A reconnect (agent restart, node reboot, coordinator restart): the operator sees it, and which
                // certificate it came back with.
                try await store.appendEvent(NodeEvent(at: now, cluster: nodeRecord.cluster, group: nodeRecord.group, nodeID: node,
                                                      kind: .nodeConnected,
                                                      reason: "agent \(OutsideText.sanitized(version, limit: 32)) reconnected with certificate \(serial)"))
            }
            let group = try await store.group(cluster: nodeRecord.cluster, name: nodeRecord.group)
            var facts = ["node.group": nodeRecord.group, "node.cluster": nodeRecord.cluster]
            facts["node.address"] = nodeRecord.address
            let health = group?.spec.health ?? GroupSpec.HealthPolicy()
            return (health.heartbeatInterval.value, health.heartbeatTimeout.value, health.probes.map { $0.clampedToLimits() }, facts)
        } catch let error as WireError {
            throw error
        } catch {
            gateway.logger.error("store error while admitting agent", metadata: ["node.id": "\(node)", "error": "\(error)"])
            throw WireError(.internalError, "coordinator cannot check the certificate now")
        }
    }
}
