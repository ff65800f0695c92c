import Crypto
import KadendePKI
import KadendeProbes
import KadendeSupport
import KadendeWire
import Logging
import NIOCore
import NIOPosix
import Synchronization
import X509
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

public enum AgentVersion {
    public static let current = KadendeVersion.current
}

/// The coordinator said no, with a reason; the agent logs it and backs off.
struct RefusedByCoordinator: Error, CustomStringConvertible {
    var refused: Refused
    var description: String { "\(refused.code.rawValue): \(refused.reason)" }
}

/// Set once from a child task, read by the loop that started it.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

struct AgentError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The agent's life: enrol once with the token from user-data, then hold one mutual-TLS connection to a
/// coordinator, sending heartbeats and renewing the certificate at two thirds of its life. When the connection
/// drops it tries the next coordinator after a jittered exponential backoff.
public final class Agent: Sendable {
    let settings: AgentSettings
    let logger: Logger
    let maxFrameSize: Int
    private let identity: Mutex<NodeIdentity?>
    /// The key of a renewal in flight; it replaces the current key only when the renewed certificate arrives.
    private let pendingKey = Mutex<P256.Signing.PrivateKey?>(nil)
    let probes: ProbeRunner
    let config: ConfigApplier
    /// The live session's writer, for acks that finish after the push that asked for them, and the last ack that
    /// found no session (sent as soon as the next one is welcomed: it may be newer than what `Hello` said).
    private let outbound = Mutex<(writer: NIOAsyncChannelOutboundWriter<Frame>?, unsent: Ack?)>((nil, nil))

    public init(settings: AgentSettings, logger: Logger, maxFrameSize: Int = Frame.defaultMaxSize) throws {
        self.settings = settings
        var logger = logger
        logger[metadataKey: "node.id"] = "\(settings.config.nodeID)"
        self.logger = logger
        self.maxFrameSize = maxFrameSize
        self.identity = Mutex(try NodeIdentity.load(from: settings.dataDir))
        self.probes = ProbeRunner(logger: logger)
        self.config = ConfigApplier(settings: settings, nodeID: settings.config.nodeID, probes: probes, logger: logger)
        // Until a coordinator says otherwise, the node runs the probes of the revision it last applied.
        probes.install(config.welcomed(facts: [:], groupProbes: []))
    }

    var nodeID: String { settings.config.nodeID }

    /// Runs until the task is cancelled (the executable cancels it on SIGTERM or SIGINT).
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.probes.supervise() }
            group.addTask { await self.config.run { ack in await self.send(.ack(ack)) } }
            await self.connect()
            group.cancelAll()
        }
        logger.info("agent stopping")
    }

    private func connect() async {
        let endpoints = settings.config.endpoints.compactMap(Endpoint.init)
        var backoff = Backoff()
        var index = 0
        while !Task.isCancelled {
            let endpoint = endpoints[index % endpoints.count]
            do {
                let welcomed = Flag()
                defer { if welcomed.isSet { backoff.reset() } }
                let enrolledNow: Bool
                if let current = self.identity.withLock({ $0 }) {
                    try await self.session(endpoint: endpoint, identity: current) { welcomed.set() }
                    enrolledNow = false
                } else {
                    try await self.enrol(endpoint: endpoint)
                    enrolledNow = true
                }
                if enrolledNow { continue }  // connect at once, now with a certificate
            } catch where Task.isCancelled {
                break
            } catch let refusal as RefusedByCoordinator {
                logger.error("coordinator refused the agent", metadata: [
                    "code": "\(refusal.refused.code.rawValue)", "reason": "\(refusal.refused.reason)", "endpoint": "\(endpoint)"])
            } catch {
                logger.warning("connection to coordinator failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
            }
            index += 1
            let delay = backoff.next()
            logger.info("reconnecting", metadata: ["delay_ms": "\(Int(delay * 1000))", "next_endpoint": "\(endpoints[index % endpoints.count])"])
            do {
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            } catch {
                break
            }
        }
    }

    /// A coordinator that accepts the connection but never answers (stopped, hung, or a port that is not a
    /// coordinator) would hold the agent forever: the TLS handshake and the first answer must come within this,
    /// or the connection is closed and the agent tries the next coordinator.
    static let answerTimeout: TimeAmount = .seconds(10)

    static func answerDeadline(_ channel: NIOAsyncChannel<Frame, Frame>) -> Scheduled<Void> {
        let raw = channel.channel
        return raw.eventLoop.scheduleTask(in: answerTimeout) { raw.close(promise: nil) }
    }

    // MARK: Enrolment

    func enrol(endpoint: Endpoint) async throws {
        let key = try NodeIdentity.enrolmentKey(in: settings.dataDir)
        let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: key)
        let channel = try await CoordinatorConnection.connect(to: endpoint, pin: settings.pin, identity: nil, maxFrameSize: maxFrameSize, logger: logger)
        let deadline = Self.answerDeadline(channel)
        defer { deadline.cancel() }
        let request = Enrol(nodeID: nodeID, token: settings.config.token, csrDER: csr)
        let enrolled: Enrolled = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(WireCodec.encode(.enrol(request)))
            for try await frame in inbound {
                switch try WireCodec.decode(frame) {
                case .enrolled(let enrolled): return enrolled
                case .refused(let refused): throw RefusedByCoordinator(refused: refused)
                case .ignored: continue
                case let other: throw AgentError("unexpected \(other.type.map { "\($0)" } ?? "message") during enrolment")
                }
            }
            throw AgentError("coordinator closed the connection during enrolment")
        }
        let certificate = try Certificate(pemEncoded: enrolled.certificatePEM)
        let ca = try Certificate(pemEncoded: enrolled.caPEM)
        guard try CAPin(certificate: ca) == settings.pin else { throw AgentError("enrolment returned a CA that does not match the pin") }
        try check(certificate, for: key)
        let identity = NodeIdentity(key: key, certificate: certificate, ca: ca)
        try identity.save(to: settings.dataDir)
        NodeIdentity.enrolmentDone(in: settings.dataDir)
        self.identity.withLock { $0 = identity }
        logger.info("enrolled", metadata: ["not_after": "\(certificate.notValidAfter)"])
    }

    private func check(_ certificate: Certificate, for key: P256.Signing.PrivateKey) throws {
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw AgentError("issued certificate is not for this agent's key")
        }
        guard CertificateTools.commonName(of: certificate.subject) == nodeID else {
            throw AgentError("issued certificate does not name \(nodeID)")
        }
    }

    // MARK: Session

    func session(endpoint: Endpoint, identity: NodeIdentity, onWelcome: () -> Void) async throws {
        let channel = try await CoordinatorConnection.connect(to: endpoint, pin: settings.pin, identity: identity, maxFrameSize: maxFrameSize, logger: logger)
        let deadline = Self.answerDeadline(channel)
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(WireCodec.encode(.hello(Hello(nodeID: nodeID, agentVersion: AgentVersion.current, config: config.current))))
            var frames = inbound.makeAsyncIterator()
            let welcome: Welcome
            switch try await frames.next().map(WireCodec.decode) {
            case .welcome(let w)?: welcome = w
            case .refused(let refused)?: throw RefusedByCoordinator(refused: refused)
            case nil: throw AgentError("coordinator closed the connection before welcome")
            case let other?: throw AgentError("expected welcome, got \(other.type.map { "\($0)" } ?? "unknown")")
            }
            deadline.cancel()
            if let limit = welcome.silenceLimitMillis {
                try await SilenceWatch.install(on: channel.channel, limit: .milliseconds(Int64(limit)), endpoint: endpoint, logger: logger)
            }
            onWelcome()
            logger.info("connected", metadata: ["endpoint": "\(endpoint)", "coordinator": "\(welcome.coordinatorID)",
                                                "probes": "\(welcome.probes?.count ?? 0)"])
            let probeSet = config.welcomed(facts: welcome.facts ?? [:], groupProbes: welcome.probes ?? [])
            if probes.install(probeSet) {
                logger.info("probe set installed", metadata: ["probes": "\(probeSet.map(\.name).joined(separator: ","))"])
            }
            let unsent = self.outbound.withLock { o -> Ack? in
                o.writer = outbound
                defer { o.unsent = nil }
                return o.unsent
            }
            defer { self.outbound.withLock { $0.writer = nil } }
            if let unsent { try await outbound.write(WireCodec.encode(.ack(unsent))) }
            let interval = min(max(welcome.heartbeatIntervalMillis, 100), 60_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.heartbeats(outbound: outbound, intervalMillis: interval) }
                while let frame = try await frames.next() {
                    let message = try WireCodec.decode(frame)
                    if case .runCommand(let command) = message {
                        // A hook may take minutes: it runs beside the session, which keeps reading and beating.
                        group.addTask { try await outbound.write(WireCodec.encode(.commandResult(await self.run(command)))) }
                        continue
                    }
                    if let reply = try await self.handle(message) {
                        try await outbound.write(WireCodec.encode(reply))
                    }
                }
                group.cancelAll()
            }
        }
    }

    private func heartbeats(outbound: NIOAsyncChannelOutboundWriter<Frame>, intervalMillis: Int) async throws {
        var seq: UInt64 = 0
        while !Task.isCancelled {
            seq += 1
            // The first heartbeat of a connection carries every probe result: the coordinator may have restarted.
            let (results, summary) = probes.drain(full: seq == 1)
            try await outbound.write(WireCodec.encode(.heartbeat(Heartbeat(
                nodeID: nodeID, seq: seq, sentAt: Date(), probes: results, full: seq == 1, summary: summary))))
            if let renew = try renewalIfDue(now: Date()) {
                try await outbound.write(WireCodec.encode(.renew(renew)))
            }
            try await Task.sleep(for: .milliseconds(intervalMillis))
        }
    }

    /// Sends on the live connection, if there is one; an ack that finds none is repeated in the next `Hello`.
    func send(_ message: WireMessage) async {
        let writer = outbound.withLock { o -> NIOAsyncChannelOutboundWriter<Frame>? in
            if o.writer == nil, case .ack(let ack) = message, ack.outcome != .applying { o.unsent = ack }
            return o.writer
        }
        guard let writer, let frame = try? WireCodec.encode(message) else { return }
        try? await writer.write(frame)
    }

    /// Runs a command the coordinator asked for (a lifecycle hook) with its timeout, on the blocking pool.
    func run(_ command: RunCommand) async -> CommandResult {
        let argv = CommandRunner.argv(command.command, shell: command.shell)
        var environment = command.environment
        environment["KADENDE_NODE_ID"] = nodeID
        logger.info("running command for the coordinator", metadata: ["command.id": "\(command.id)", "argv": "\(argv.first ?? "")"])
        do {
            let outcome = try await CommandRunner.run(argv, environment: environment,
                                                      timeout: min(max(command.timeoutSeconds, 0.001), 3600), outputLimit: 4096)
            return CommandResult(id: command.id, exitStatus: outcome.exitStatus, timedOut: outcome.timedOut, output: outcome.output)
        } catch {
            return CommandResult(id: command.id, exitStatus: nil, timedOut: false, output: "\(error)")
        }
    }

    func renewalIfDue(now: Date) throws -> Renew? {
        guard let current = identity.withLock({ $0 }), now >= current.renewAt else { return nil }
        let key: P256.Signing.PrivateKey? = pendingKey.withLock { pending in
            if pending != nil { return nil }
            let key = P256.Signing.PrivateKey()
            pending = key
            return key
        }
        guard let key else { return nil }  // a renewal is already in flight
        logger.info("renewing certificate", metadata: ["not_after": "\(current.certificate.notValidAfter)"])
        return Renew(csrDER: try NodeIdentity.makeCSR(nodeID: nodeID, key: key))
    }

    private func handle(_ message: WireMessage) async throws -> WireMessage? {
        switch message {
        case .refused(let refused):
            throw RefusedByCoordinator(refused: refused)
        case .renewed(let renewed):
            guard let key = pendingKey.withLock({ k in defer { k = nil }; return k }), let current = identity.withLock({ $0 }) else {
                throw AgentError("renewed certificate without a renewal in flight")
            }
            let certificate = try Certificate(pemEncoded: renewed.certificatePEM)
            try check(certificate, for: key)
            let next = NodeIdentity(key: key, certificate: certificate, ca: current.ca)
            try next.save(to: settings.dataDir)
            identity.withLock { $0 = next }
            logger.info("certificate renewed", metadata: ["not_after": "\(renewed.notAfter)"])
            return nil
        case .push(let push):
            // Applied beside the session, one revision at a time; the ack follows on whichever connection is live.
            config.enqueue(push.config)
            return nil
        case .ignored, .keepAlive:
            return nil  // any word from the coordinator already reset the silence watch
        case .bye(let bye):
            throw AgentError("coordinator said goodbye: \(bye.reason)")
        case .runCommand(let command):
            return .commandResult(await run(command))
        case .hello, .welcome, .enrol, .enrolled, .heartbeat, .ack, .renew, .commandResult:
            throw AgentError("unexpected \(message.type.map { "\($0)" } ?? "message") from coordinator")
        }
    }
}
