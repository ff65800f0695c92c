import Crypto
import Foundation
import KadendeModel
import KadendePKI
import KadendeWire
import NIOCore
import Testing

/// The wire protocol fuzzed against a real gateway over TLS: a few thousand frames made from real enrol, hello,
/// heartbeat and ack frames, mutated (bytes flipped, inserted, dropped; lengths, types, versions and flags changed;
/// JSON numbers and strings swapped for extreme ones) and truncated, each on a connection of its own and followed by
/// a well-formed second hello, so that a frame the coordinator accepted still ends in a refusal. The coordinator must
/// stay up, answer every bad frame with a refusal that carries a known code or close the connection, and a real agent
/// must stay connected throughout. Bounded in count and time; the seed is printed so a failure can be replayed
/// (`KADENDE_FUZZ_SEED`). Defends against any frame a peer can send trapping or hanging the coordinator.
@Suite(.serialized) struct WireFuzzTests {
    static let cases = 2_000
    static let timeLimit: Duration = .seconds(180)

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A frame's bytes as they travel.
    static func bytes(_ message: WireMessage) throws -> [UInt8] {
        let frame = try WireCodec.encode(message)
        var out = ByteBuffer()
        try FrameEncoder().encode(data: frame, out: &out)
        return Array(out.readableBytesView)
    }

    /// Extreme values a JSON number or string may be swapped for.
    static let extremes = ["1e308", "-1", "0", "9223372036854775807", "18446744073709551616", "1e17", "-1e308", "null", "true",
                           "\"\"", "[]", "{}", "\"\(String(repeating: "x", count: 70_000))\"", "\"\\u0000\\n\\u001b[2J\"", "3.5"]

    static func mutate(_ frame: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var f = frame
        switch Int.random(in: 0..<9, using: &rng) {
        case 0:  // flip bytes
            for _ in 0..<Int.random(in: 1...8, using: &rng) where !f.isEmpty {
                f[Int.random(in: 0..<f.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 1:  // truncate
            f = Array(f.prefix(Int.random(in: 0..<max(f.count, 1), using: &rng)))
        case 2:  // a length field that lies (the rest of the stream becomes its body, or the frame never ends)
            let lie = UInt32.random(in: 0...UInt32(2 << 20), using: &rng)
            f.replaceSubrange(0..<4, with: withUnsafeBytes(of: lie.bigEndian, Array.init))
        case 3:  // another type, known or not, required or not
            f[6] = UInt8.random(in: 0...1, using: &rng) == 0 ? 0 : UInt8.random(in: 0...255, using: &rng)
            f[7] = UInt8.random(in: 0...20, using: &rng)
            f[5] = UInt8.random(in: 0...3, using: &rng)
        case 4:  // another protocol version
            f[4] = UInt8.random(in: 0...255, using: &rng)
        case 5:  // bytes inserted into the body (the length fixed up, so the JSON is what breaks)
            let at = Int.random(in: 8...max(8, f.count), using: &rng)
            f.insert(contentsOf: (0..<Int.random(in: 1...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            f.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(f.count - 4).bigEndian, Array.init))
        case 6, 7:  // a JSON value swapped for an extreme one (the length fixed up)
            var text = String(decoding: f.dropFirst(8), as: UTF8.self)
            let values = text.ranges(of: /:(-?[0-9][0-9.eE+-]*|"[^"]*"|true|false|null)/)
            if let target = values.randomElement(using: &rng) {
                text.replaceSubrange(target, with: ":" + (extremes.randomElement(using: &rng) ?? "0"))
            }
            f = Array(f.prefix(8)) + Array(text.utf8)
            f.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(f.count - 4).bigEndian, Array.init))
        default:  // a body of random bytes
            let body = (0..<Int.random(in: 0...512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            f = withUnsafeBytes(of: UInt32(4 + body.count).bigEndian, Array.init) + Array(f[4..<8]) + body
        }
        return f
    }

    /// Frames in what the coordinator sent, as far as they parse.
    static func replies(_ bytes: [UInt8]) -> [WireMessage] {
        var buffer = ByteBuffer(bytes: bytes)
        var out: [WireMessage] = []
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self), buffer.readableBytes >= 4 + Int(length), length >= 4 {
            buffer.moveReaderIndex(forwardBy: 4)
            guard let version = buffer.readInteger(as: UInt8.self), let flags = buffer.readInteger(as: UInt8.self),
                  let type = buffer.readInteger(as: UInt16.self), let payload = buffer.readSlice(length: Int(length) - 4) else { break }
            if let message = try? WireCodec.decode(Frame(version: version, flags: .init(rawValue: flags), type: type, payload: payload)) {
                out.append(message)
            }
        }
        return out
    }

    @Test func thousandsOfMutatedFramesNeitherStopTheCoordinatorNorDisturbARealAgent() async throws {
        let c = try await InProcessCoordinator(label: "fuzz") { config in
            // Frames a mutation left unfinished are closed quickly rather than after a minute (a real agent's frames
            // arrive whole, in one TLS record).
            config.agentLimits.frameTimeout = .milliseconds(300)
        }
        defer { Task { await c.stop() } }
        let port = c.coordinator.agentPort
        let real = try await c.healthyProcessNode()

        // A node of the fuzzer's own, to speak in session.
        let (nodeID, token) = try await c.makeNode()
        let identity = try await RawAgent(port: port, pin: c.coordinator.ca.pin).enrol(nodeID: nodeID, token: token)
        let csr = try NodeIdentity.makeCSR(nodeID: nodeID, key: P256.Signing.PrivateKey())
        let hello = try Self.bytes(.hello(Hello(nodeID: nodeID, agentVersion: "fuzz", config: Ack(revision: 1, outcome: .applied, digest: "d"))))
        let seeds: [(name: String, frame: [UInt8], inSession: Bool)] = [
            ("enrol", try Self.bytes(.enrol(Enrol(nodeID: NodeID.make(), token: "kdt_" + String(repeating: "0", count: 64), csrDER: csr))), false),
            ("hello", hello, false),
            ("heartbeat", try Self.bytes(.heartbeat(Heartbeat(nodeID: nodeID, seq: 7, sentAt: Date(), probes: [
                ProbeResult(name: "http", status: .critical, output: "503 from upstream", since: Date())], full: true,
                summary: ProbeSummary(passing: 0, warning: 0, critical: 1, unknown: 0, digest: 42)))), true),
            ("ack", try Self.bytes(.ack(Ack(revision: 3, outcome: .failed, message: "exit 3", digest: "abc",
                                             steps: [StepResult(step: "command migrate", outcome: .failed, output: "boom")], at: Date()))), true),
        ]
        let seed = ProcessInfo.processInfo.environment["KADENDE_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        print("wire fuzz seed \(seed) (replay with KADENDE_FUZZ_SEED=\(seed))")
        var rng = SplitMix(state: seed)
        var plans: [(name: String, bytes: [UInt8], certificate: Bool)] = []
        for i in 0..<Self.cases {
            let base = seeds[i % seeds.count]
            let mutated = Self.mutate(base.frame, &rng)
            // In session: hello first, then the mutated frame, then a second hello that is always refused if the
            // mutated frame was accepted. Enrolments go without a certificate; hellos with one.
            let stream = (base.inSession ? hello : []) + mutated + hello
            plans.append((base.name, stream, base.name != "enrol"))
        }

        let clock = ContinuousClock()
        let deadline = clock.now + Self.timeLimit
        var outcomes: [String: Int] = [:]
        var unknownCodes: [String] = []
        var done = 0
        try await withThrowingTaskGroup(of: (String, [WireMessage]).self) { group in
            var next = 0
            func launch() {
                guard next < plans.count, clock.now < deadline else { return }
                let plan = plans[next]
                next += 1
                group.addTask {
                    do {
                        let connection = try await RawConnection.tls(port: port, identity: plan.certificate ? identity : nil)
                        try await connection.send(plan.bytes)
                        return (plan.name, Self.replies(try await connection.untilClosed(limit: .seconds(60))))
                    } catch is RawConnectionStillOpen {
                        return (plan.name + " still open", [])
                    } catch {
                        // The coordinator closed the connection before the whole stream was written: a close.
                        return (plan.name, [])
                    }
                }
            }
            // Eight at a time: enough to overlap the cases that wait for a deadline, and light enough that the other
            // tests of the stage, on the same two cores, keep their timing.
            for _ in 0..<8 { launch() }
            while let (name, replies) = try await group.next() {
                done += 1
                if name.hasSuffix("still open") { unknownCodes.append("\(name): neither refused nor closed within 60 s") }
                let refusal = replies.compactMap { message -> Refused? in if case .refused(let r) = message { r } else { nil } }.first
                if let refusal {
                    if refusal.code == .other || refusal.code == .internalError { unknownCodes.append("\(name): \(refusal.code.rawValue) \(refusal.reason)") }
                    outcomes["refused \(refusal.code.rawValue)", default: 0] += 1
                } else {
                    outcomes["closed", default: 0] += 1
                }
                launch()
            }
        }
        print("wire fuzz: \(done) frames: " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(done >= Self.cases / 4, "only \(done) cases within the time limit")
        #expect(unknownCodes.isEmpty, "refusals without a known code: \(unknownCodes.prefix(10))")
        #expect((outcomes.filter { $0.key.hasPrefix("refused") }.values.reduce(0, +)) > done / 2, "most bad frames are refused with a code: \(outcomes)")

        // The coordinator is up and serving: a fresh hello is welcomed, the API answers, the real agent never left.
        let after = try await RawAgent(port: port, pin: c.coordinator.ca.pin).send([.hello(Hello(nodeID: nodeID, agentVersion: "after"))], identity: identity)
        guard case .welcome? = after.first else { Issue.record("no welcome after the fuzzing: \(after)"); return }
        #expect(try await Curl.http("http://127.0.0.1:\(try #require(await c.coordinator.httpPort()))/v1/health", []).status == 200)
        #expect(c.coordinator.tracker.isConnected(real.id))
        let events = try await c.store.listEvents(cluster: "default", group: "web", after: 0, limit: 10_000).filter { $0.nodeID == real.id }
        #expect(!events.contains { $0.kind == .nodeConnected }, "the real agent had to reconnect: \(events.map(\.reason))")
        #expect(try await c.store.node(id: real.id)?.state == .healthy)
        await c.stop()
    }
}
