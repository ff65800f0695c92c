import KadendeModel
import KadendePKI
import KadendeStore
import KadendeSupport
import KadendeWire
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import struct Foundation.Date

public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxFrameSize: Int
    public var coordinatorID: String
    /// A welcomed agent hears from the coordinator at least this often; it leaves after three times as long.
    public var keepAlive: TimeAmount
    /// Timeouts and caps of the listener.
    public var admission: AdmissionLimits

    public init(host: String = "127.0.0.1", port: Int = 7443, maxFrameSize: Int = Frame.defaultMaxSize, coordinatorID: String,
                keepAlive: TimeAmount = .seconds(4), admission: AdmissionLimits = AdmissionLimits()) {
        self.host = host
        self.port = port
        self.maxFrameSize = maxFrameSize
        self.coordinatorID = coordinatorID
        self.keepAlive = keepAlive
        self.admission = admission
    }
}

/// Terminates agents' mutual-TLS connections: one long-lived connection per agent, each in its own child task
/// that catches its own errors so one bad peer cannot hurt the others.
public final class AgentGateway: Service, Sendable {
    let configuration: GatewayConfiguration
    let sslContext: NIOSSLContext
    let store: any Store
    let enrolment: EnrolmentService
    let tracker: HeartbeatTracker
    let now: @Sendable () -> Date
    let logger: Logger
    private let server: Mutex<NIOAsyncChannel<NIOAsyncChannel<Frame, Frame>, Never>?> = Mutex(nil)
    private let connections = Mutex<Connections>(Connections())
    private let delivery = Mutex<(any ConfigDelivery)?>(nil)
    let counters: AdmissionCounters

    /// Every connection, and the authenticated ones by node (the latest wins when an agent reconnects before its
    /// old connection is noticed gone).
    struct Connections {
        var all: [ObjectIdentifier: (node: String?, serial: String?, channel: any Channel)] = [:]
        var byNode: [String: any Channel] = [:]
    }
    private let pending = Mutex<[String: CheckedContinuation<CommandResult, any Error>]>([:])

    public init(configuration: GatewayConfiguration, tls: TLSConfiguration, store: any Store, enrolment: EnrolmentService,
                tracker: HeartbeatTracker, now: @escaping @Sendable () -> Date, logger: Logger) throws {
        self.configuration = configuration
        self.counters = AdmissionCounters(limits: configuration.admission)
        self.sslContext = try NIOSSLContext(configuration: tls)
        self.store = store
        self.enrolment = enrolment
        self.tracker = tracker
        self.now = now
        self.logger = logger
    }

    /// Binds the listening socket and returns the port (useful with port 0). Called before `run`.
    public func bind() async throws -> Int {
        let sslContext = self.sslContext
        let maxFrameSize = configuration.maxFrameSize
        let keepAlive = configuration.keepAlive
        let limits = configuration.admission
        let counters = self.counters
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { server in
                server.eventLoop.makeCompletedFuture { try server.pipeline.syncOperations.addHandler(ConnectionCap(limit: limits.maxConnections)) }
            }
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            // TLS holds 48 KiB of record buffers per connection for its whole life and uses a page of them.
            .childChannelOption(.allocator, value: PagedBufferAllocator.allocator)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let allowance = FrameAllowance(maxFrameSize: maxFrameSize, budget: counters.budget, frameTimeout: limits.frameTimeout)
                    try sync.addHandler(NIOSSLServerHandler(context: sslContext))
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(allowance: allowance)))
                    try sync.addHandler(MessageToByteHandler(FrameEncoder()))
                    try sync.addHandler(ConnectionGuard(limits: limits, counters: counters, allowance: allowance))
                    try sync.addHandler(IdleStateHandler(writeTimeout: keepAlive))
                    try sync.addHandler(KeepAliveSender())
                    return try NIOAsyncChannel<Frame, Frame>(wrappingChannelSynchronously: channel)
                }
            }
        server.withLock { $0 = channel }
        let port = channel.channel.localAddress?.port ?? configuration.port
        logger.info("agent gateway listening", metadata: ["address": "\(configuration.host):\(port)"])
        return port
    }

    public func run() async throws {
        guard let server = server.withLock({ $0 }) else {
            throw GatewayError("run() called before bind()")
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await self.followRevocations() }
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
                // The listener is closed (a shutdown closes every connection too): the follower ends with it.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Closes the listener and every agent connection; agents reconnect to another coordinator or to this one
    /// when it is back.
    public func shutdown() {
        server.withLock { $0?.channel.close(promise: nil) }
        for (_, entry) in connections.withLock({ $0.all }) { entry.channel.close(promise: nil) }
    }

    /// Drops a node's live connection, e.g. once it is terminated and its certificate revoked.
    public func disconnect(nodeID: String) {
        for (_, entry) in connections.withLock({ $0.all }) where entry.node == nodeID { entry.channel.close(promise: nil) }
    }

    /// Nodes with a welcomed connection here, and the certificate serial each connection presented.
    var welcomed: [(node: String, serial: String?, channel: any Channel)] {
        connections.withLock { c in c.all.values.compactMap { entry in entry.node.map { ($0, entry.serial, entry.channel) } } }
    }

    /// Drops connections whose node was terminated or whose certificate was revoked, whichever replica did it: every
    /// replica's events reach every replica, so each checks the store when one concerns a node connected here. A
    /// sweep of every connected node each `sweep` catches what a busy event stream dropped. A node on its way out
    /// (`terminating`) keeps its connection until it is terminated, whatever its certificate: its `preTerminate`
    /// hook runs over it (hello, renewal and so a reconnection are refused to it all the same).
    func followRevocations(sweep: Duration = .seconds(30)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in self.store.events.subscribe() {
                    guard let node = event.nodeID, event.kind == .nodeTransition || event.kind == .certificateRenewed,
                          self.connections.withLock({ $0.byNode[node] != nil }) else { continue }
                    // A transition can only end the node; a renewal can only revoke a certificate.
                    await self.check(self.welcomed.filter { $0.node == node }, certificates: event.kind == .certificateRenewed)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: sweep)
                    await self.sweep()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// One read of every live node, however many are connected: drops the connections of nodes no longer active.
    private func sweep() async {
        let entries = welcomed
        guard !entries.isEmpty else { return }
        do {
            let live = Set(try await store.allLiveNodes().filter { !$0.state.isFinal }.map(\.id))
            for (node, _, channel) in entries where !live.contains(node) {
                logger.notice("dropping agent connection", metadata: ["node.id": "\(node)", "reason": "node is terminated"])
                channel.close(promise: nil)
            }
        } catch is CancellationError {
            return  // the gateway is stopping
        } catch {
            logger.warning("cannot sweep agent connections", metadata: ["error": "\(error)"])
        }
    }

    private func check(_ entries: [(node: String, serial: String?, channel: any Channel)], certificates: Bool) async {
        for (node, serial, channel) in entries {
            do {
                let record = try await store.node(id: node)
                var certificate: CertificateRecord?
                if certificates, let serial { certificate = try await store.certificate(serial: serial) }
                let why: String? = if record == nil || record?.state.isFinal == true {
                    "node is \(record?.state.rawValue ?? "unknown")"
                } else if record?.state == .terminating || !certificates {
                    nil
                } else if certificate == nil || certificate?.revoked == true {
                    "certificate \(serial ?? "?") was revoked"
                } else {
                    nil
                }
                guard let why else { continue }
                logger.notice("dropping agent connection", metadata: ["node.id": "\(node)", "reason": "\(why)"])
                channel.close(promise: nil)
            } catch {
                logger.warning("cannot check an agent connection", metadata: ["node.id": "\(node)", "error": "\(error)"])
            }
        }
    }

    /// Runs a command on a node through its agent and waits for the result, at most `timeout` plus a margin for
    /// the round trip. Fails when the node has no live connection.
    public func runCommand(nodeID: String, _ command: RunCommand) async throws -> CommandResult {
        guard let channel = connections.withLock({ $0.byNode[nodeID] }) else {
            throw GatewayError("node \(nodeID) has no live connection")
        }
        let frame = try WireCodec.encode(.runCommand(command))
        return try await withThrowingTaskGroup(of: CommandResult.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    self.pending.withLock { $0[command.id] = continuation }
                    channel.writeAndFlush(frame).whenFailure { error in
                        self.pending.withLock { $0.removeValue(forKey: command.id) }?.resume(throwing: error)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Clamp.milliseconds(command.timeoutSeconds + 5)))
                throw GatewayError("node \(nodeID) did not report command \(command.id) within \(Clamp.wholeSeconds(command.timeoutSeconds + 5))s")
            }
            defer {
                group.cancelAll()
                pending.withLock { $0.removeValue(forKey: command.id) }?.resume(throwing: CancellationError())
            }
            guard let result = try await group.next() else { throw CancellationError() }
            return result
        }
    }

    /// A result from an agent: resumes whoever waits for it. Unknown ids (late, or made up) are dropped.
    func complete(_ result: CommandResult, from nodeID: String) {
        guard let continuation = pending.withLock({ $0.removeValue(forKey: result.id) }) else {
            logger.warning("command result nobody waits for", metadata: ["node.id": "\(nodeID)", "command.id": "\(result.id.prefix(40))"])
            return
        }
        continuation.resume(returning: result)
    }

    func register(_ channel: any Channel, node: String?, serial: String? = nil) {
        connections.withLock { c in
            c.all[ObjectIdentifier(channel)] = (node, serial, channel)
            if let node { c.byNode[node] = channel }
        }
    }

    func unregister(_ channel: any Channel) {
        connections.withLock { c in
            guard let entry = c.all.removeValue(forKey: ObjectIdentifier(channel)) else { return }
            if let node = entry.node, let current = c.byNode[node], current === channel { c.byNode[node] = nil }
        }
    }

    /// Who hands out configuration: told of every agent's hello and ack. Set once, before agents connect.
    public func setConfigDelivery(_ delivery: any ConfigDelivery) {
        self.delivery.withLock { $0 = delivery }
    }

    var configDelivery: (any ConfigDelivery)? { delivery.withLock { $0 } }

    /// Sends one already-encoded push to each of these nodes that has a live connection; returns the nodes that
    /// have none (they receive it when they say hello again).
    @discardableResult
    public func push(_ frame: Frame, to nodeIDs: [String]) -> [String] {
        let channels = connections.withLock { c in nodeIDs.map { ($0, c.byNode[$0]) } }
        var offline: [String] = []
        for (node, channel) in channels {
            guard let channel else {
                offline.append(node)
                continue
            }
            channel.writeAndFlush(frame, promise: nil)
        }
        return offline
    }

    public var connectedCount: Int { connections.withLock { $0.byNode.count } }

    /// Welcomed connections the listener's limits closed (see `AdmissionCounters.welcomedCut`).
    public var welcomedConnectionsCut: Int { counters.welcomedCut.load(ordering: .relaxed) }

    /// Bytes the listener holds in frames its peers have begun and not finished.
    public var unfinishedFrameBytes: Int { counters.budget.bytesHeld }

    private func serve(_ connection: NIOAsyncChannel<Frame, Frame>) async {
        let channel = connection.channel
        register(channel, node: nil)
        defer { unregister(channel) }
        let remote = channel.remoteAddress.map { "\($0)" } ?? "unknown"
        var session = AgentSession(gateway: self, channel: channel, remote: remote)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await session.run(inbound: inbound, outbound: outbound)
            }
        } catch {
            logger.debug("agent connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
        }
        if let node = session.nodeID, session.helloDone {
            tracker.setConnected(node, false)
            logger.info("agent disconnected", metadata: ["node.id": "\(node)", "remote": "\(remote)"])
        }
    }
}

/// The configuration side of agent sessions, implemented by the coordinator's rollout engine.
public protocol ConfigDelivery: Sendable {
    /// An agent said hello with the configuration it last applied (or is applying); returns a push to send it
    /// right after `Welcome` when it is not on the revision it should run.
    func agentConnected(nodeID: String, reported: Ack?, at: Date) async -> Push?
    /// An agent acknowledged (or started applying) a revision.
    func acknowledged(nodeID: String, ack: Ack, at: Date)
}

public struct GatewayError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
