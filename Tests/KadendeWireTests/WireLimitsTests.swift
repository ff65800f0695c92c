import Foundation
import KadendeWire
import NIOCore
import Testing

/// Every message a peer sends is held to `WireLimits` as it is decoded, before anything acts on it: a number that
/// would trap a conversion and a string or list that would grow what the receiver keeps are refused with
/// `limit_exceeded`. Defends the agent against a welcome whose probe interval no timer can take (it once trapped
/// the agent) and the coordinator against heartbeats, acks and byes of any size.
@Suite struct WireLimitsTests {
    func refusal(_ message: WireMessage) -> RefusalCode? {
        do {
            _ = try WireCodec.decode(try WireCodec.encode(message))
            return nil
        } catch let error as WireError {
            return error.code
        } catch {
            return .other
        }
    }

    static let node = "n-0123456789abcdef"

    @Test func messagesWithinTheLimitsDecode() {
        #expect(refusal(.hello(Hello(nodeID: Self.node, agentVersion: "0.3.0"))) == nil)
        #expect(refusal(.welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 300_000, serverTime: Date(),
                                         probes: [ProbeSpec(name: "p", check: .tcp(host: "127.0.0.1", port: 1), interval: 3600)],
                                         keepAliveMillis: 4000))) == nil)
        #expect(refusal(.heartbeat(Heartbeat(nodeID: Self.node, seq: 1, sentAt: Date(),
                                             probes: (0..<64).map { ProbeResult(name: "p\($0)", status: .passing, output: String(repeating: "o", count: 4096)) }))) == nil)
    }

    static let tooBig: [(why: String, message: WireMessage)] = [
        ("a probe interval no timer can take", .welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(),
                                                                 probes: [ProbeSpec(name: "p", check: .tcp(host: "h", port: 1), interval: 1e17)]))),
        ("a heartbeat interval past 5 minutes", .welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: Int.max, serverTime: Date()))),
        ("a keep-alive past a minute", .welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(), keepAliveMillis: -1))),
        ("a probe timeout that is not a number of seconds", .welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(),
                                                                              probes: [ProbeSpec(name: "p", check: .systemd(unit: "u"), timeout: 1e300)]))),
        ("an agent version of a kilobyte", .hello(Hello(nodeID: node, agentVersion: String(repeating: "v", count: 1024)))),
        ("more probe results than a group declares", .heartbeat(Heartbeat(nodeID: node, seq: 1, sentAt: Date(),
                                                                          probes: (0..<65).map { ProbeResult(name: "p\($0)", status: .passing) }))),
        ("a probe output of a megabyte", .heartbeat(Heartbeat(nodeID: node, seq: 1, sentAt: Date(),
                                                              probes: [ProbeResult(name: "p", status: .critical, output: String(repeating: "x", count: 5000))]))),
        ("an ack message of any size", .ack(Ack(revision: 1, outcome: .failed, message: String(repeating: "m", count: 5000)))),
        ("an ack of more steps than a revision has", .ack(Ack(revision: 1, outcome: .applied, steps: (0..<401).map { StepResult(step: "s\($0)", outcome: .ran) }))),
        ("a negative revision", .ack(Ack(revision: -1, outcome: .applied))),
        ("a bye with a whole log in it", .bye(Bye(reason: String(repeating: "line\n", count: 200)))),
        ("a command result of a megabyte", .commandResult(CommandResult(id: "c", exitStatus: 0, timedOut: false, output: String(repeating: "o", count: 70_000)))),
        ("a hook command whose timeout no timer takes", .runCommand(RunCommand(id: "c", command: ["x"], shell: false, timeoutSeconds: 1e17, environment: [:]))),
        ("an enrolment token of a kilobyte", .enrol(Enrol(nodeID: node, token: String(repeating: "t", count: 1024), csrDER: Data()))),
    ]

    @Test(arguments: 0..<tooBig.count) func beyondALimitIsRefusedWithItsCode(row: Int) {
        #expect(refusal(Self.tooBig[row].message) == .limitExceeded, "\(Self.tooBig[row].why)")
    }
}

/// A revision beyond the limits is refused by the agent as a failed revision, not by the wire as a broken session.
@Suite struct RevisionLimitsTests {
    @Test func aRevisionBeyondTheLimitsIsRefusedByItsOwnCheck() throws {
        let revision = ConfigRevision(revision: 2, commands: [ConfigCommand(name: "c", command: ["x"], timeout: 1e300)])
        #expect(throws: WireError.self) { try revision.validate() }
        // The frame itself decodes: the agent answers with a failed ack and keeps its session.
        let frame = try WireCodec.encode(.push(Push(config: revision)))
        guard case .push = try WireCodec.decode(frame) else { Issue.record("not a push"); return }
    }
}
