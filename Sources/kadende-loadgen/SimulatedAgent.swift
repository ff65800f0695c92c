import Crypto
import KadendeAgent
import KadendePKI
import KadendeWire
import Logging
import NIOCore
import Synchronization
import X509
import Foundation

/// Counters the generator reports while it runs.
final class Stats: Sendable {
    let enrolled = Atomic<Int>(0)
    let connected = Atomic<Int>(0)
    let pushes = Atomic<Int>(0)
    let acks = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let lastError = Mutex<String>("")

    func failed(_ error: any Error) {
        errors.add(1, ordering: .relaxed)
        lastError.withLock { $0 = "\(error)" }
    }

    var json: String {
        #"{"enrolled": \#(enrolled.load(ordering: .relaxed)), "connected": \#(connected.load(ordering: .relaxed)), "#
            + #""pushes": \#(pushes.load(ordering: .relaxed)), "acks": \#(acks.load(ordering: .relaxed)), "errors": \#(errors.load(ordering: .relaxed))}"#
    }
}

/// Bounds how many agents handshake at once, so thousands starting together queue instead of timing out.
actor Gate {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    init(_ width: Int) { free = width }

    func enter() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}

/// One simulated agent speaking the real protocol over real mutual TLS: enrols with its single-use token and
/// a CSR for a key it made, says hello with its certificate, beats at the interval the coordinator gives, and
/// acknowledges every push at once (it has no files to write: what is measured is the coordinator and the wire).
struct SimulatedAgent {
    let config: AgentConfig
    let pin: CAPin
    /// Every coordinator replica, tried in turn as the real agent does: a failed or lost connection moves on.
    let endpoints: [Endpoint]
    let stats: Stats
    let gate: Gate
    let logger: Logger

    func run() async {
        var identity: NodeIdentity?
        var applied: Ack?
        var attempt = Int.random(in: 0..<endpoints.count)
        while !Task.isCancelled {
            await gate.enter()
            var entered = true
            let endpoint = endpoints[attempt % endpoints.count]
            attempt += 1
            do {
                if identity == nil {
                    identity = try await enrol(at: endpoint)
                    stats.enrolled.add(1, ordering: .relaxed)
                }
                try await session(identity!, at: endpoint, applied: &applied) {
                    if entered { entered = false; await gate.leave() }
                }
            } catch where Task.isCancelled {
                break
            } catch {
                stats.failed(error)
            }
            if entered { await gate.leave() }
            try? await Task.sleep(for: .milliseconds(Int.random(in: 500...1500)))
        }
    }

    func enrol(at endpoint: Endpoint) async throws -> NodeIdentity {
        let key = P256.Signing.PrivateKey()
        let csr = try NodeIdentity.makeCSR(nodeID: config.nodeID, key: key)
        let channel = try await CoordinatorConnection.connect(to: endpoint, pin: pin, identity: nil, maxFrameSize: Frame.defaultMaxSize, logger: logger)
        let enrolled: Enrolled = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(WireCodec.encode(.enrol(Enrol(nodeID: config.nodeID, token: config.token, csrDER: csr))))
            for try await frame in inbound {
                switch try WireCodec.decode(frame) {
                case .enrolled(let e): return e
                case .refused(let r): throw LoadError("enrolment refused: \(r.code.rawValue): \(r.reason)")
                default: continue
                }
            }
            throw LoadError("closed during enrolment")
        }
        return NodeIdentity(key: key, certificate: try Certificate(pemEncoded: enrolled.certificatePEM), ca: try Certificate(pemEncoded: enrolled.caPEM))
    }

    func session(_ identity: NodeIdentity, at endpoint: Endpoint, applied: inout Ack?, welcomed: () async -> Void) async throws {
        let channel = try await CoordinatorConnection.connect(to: endpoint, pin: pin, identity: identity, maxFrameSize: Frame.defaultMaxSize, logger: logger)
        let nodeID = config.nodeID
        let stats = self.stats
        let last = applied
        let result: Ack? = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(WireCodec.encode(.hello(Hello(nodeID: nodeID, agentVersion: "loadgen", config: last))))
            var frames = inbound.makeAsyncIterator()
            guard case .welcome(let welcome)? = try await frames.next().map(WireCodec.decode) else { throw LoadError("no welcome") }
            stats.connected.add(1, ordering: .relaxed)
            defer { stats.connected.subtract(1, ordering: .relaxed) }
            await welcomed()
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var seq: UInt64 = 0
                    while !Task.isCancelled {
                        seq += 1
                        try await outbound.write(WireCodec.encode(.heartbeat(Heartbeat(nodeID: nodeID, seq: seq, sentAt: Date(), full: seq == 1))))
                        try await Task.sleep(for: .milliseconds(welcome.heartbeatIntervalMillis))
                    }
                }
                var latest = last
                while let frame = try await frames.next() {
                    if case .push(let push) = try WireCodec.decode(frame) {
                        stats.pushes.add(1, ordering: .relaxed)
                        let ack = Ack(revision: push.revision, outcome: .applied, digest: push.config.digest,
                                      steps: [StepResult(step: "simulated", outcome: .unchanged)], at: Date())
                        try await outbound.write(WireCodec.encode(.ack(ack)))
                        stats.acks.add(1, ordering: .relaxed)
                        latest = ack
                    }
                }
                group.cancelAll()
                return latest
            }
        }
        applied = result
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
