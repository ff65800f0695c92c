import Crypto
import Foundation
import KadendeAuth
import KadendeModel
import KadendePKI
import KadendeWire
import Testing

/// What peers nobody authenticated, and nodes, can make the coordinator write is bounded, over the real API and a
/// real gateway. Defends against a login that wrote a 64 KiB user name to the audit log even when throttled, every
/// bogus enrolment writing an audit row, and every ack turned into a stored event.
@Suite struct UnboundedGrowthTests {
    @Test func failedLoginsAndBogusEnrolmentsWriteAFewAuditEntriesAndAcksAFewEvents() async throws {
        let clock = ManualClock()
        let c = try await InProcessCoordinator(clock: clock, label: "growth")
        defer { Task { await c.stop() } }
        let api = "http://127.0.0.1:\(try #require(await c.coordinator.httpPort()))"
        let huge = String(repeating: "u", count: 64 * 1024 - 100)
        for _ in 0..<30 {
            let answer = try await Curl.http(api + "/v1/login", ["-X", "POST", "-H", "Content-Type: application/json",
                                                               "--data", #"{"user": "\#(huge)", "password": "whatever-whatever"}"#])
            #expect(answer.status == 401 || answer.status == 429, "\(answer.status)")
        }
        for _ in 0..<30 {
            let answer = try await Curl.http(api + "/v1/login", ["-X", "POST", "-H", "Content-Type: application/json",
                                                               "--data", #"{"user": "mallory\n2026-12-02 forged line", "password": "whatever-whatever"}"#])
            #expect(answer.status == 401 || answer.status == 429)
        }
        let agent = RawAgent(port: c.coordinator.agentPort, pin: c.coordinator.ca.pin)
        for _ in 0..<30 {
            let csr = try NodeIdentity.makeCSR(nodeID: NodeID.make(), key: P256.Signing.PrivateKey())
            let replies = try await agent.send([.enrol(Enrol(nodeID: NodeID.make(), token: "kdt_" + String(repeating: "f", count: 64), csrDER: csr))],
                                               identity: nil)
            guard case .refused(let refused)? = replies.first else { Issue.record("expected a refusal, got \(replies)"); return }
            #expect(refused.code == .invalidToken)
        }
        var audit = try await c.store.audit(after: 0, limit: 10_000)
        let logins = audit.filter { $0.action == "login" }
        let enrolments = audit.filter { $0.action == "node.enrol" }
        // An address's burst of ten for failed logins and ten for refused enrolments: far fewer than the 90 tries.
        #expect(logins.count <= 10 && enrolments.count <= 10, "\(logins.count) logins, \(enrolments.count) enrolments audited")
        #expect(audit.allSatisfy { $0.actor.count <= 70 && !$0.actor.contains("\n") }, "\(audit.map(\.actor.count))")

        // A minute on, the address may write again, and the entry says how many were left out.
        clock.advance(by: 60)
        _ = try await Curl.http(api + "/v1/login", ["-X", "POST", "-H", "Content-Type: application/json",
                                                   "--data", #"{"user": "mallory", "password": "whatever-whatever"}"#])
        audit = try await c.store.audit(after: 0, limit: 10_000)
        let noted = try #require(audit.last)
        #expect(noted.outcome.contains("more from this address not recorded"), "\(noted.outcome)")

        // A node that acks without end: its acks are taken, a few become events.
        let (nodeID, token) = try await c.makeNode()
        let identity = try await agent.enrol(nodeID: nodeID, token: token)
        let acks = (1...200).map { WireMessage.ack(Ack(revision: $0, outcome: .applied, digest: "d", steps: [])) }
        // The last hello is refused (sent twice): once it is, every ack before it has been taken.
        let replies = try await agent.send([.hello(Hello(nodeID: nodeID, agentVersion: "test"))] + acks + [.hello(Hello(nodeID: nodeID, agentVersion: "test"))],
                                           identity: identity, expect: 2)
        guard case .refused? = replies.last else { Issue.record("expected the second hello refused: \(replies)"); return }
        // Every ack was taken before the refusal, so every event they made is in the rollout loop's buffer, written
        // whole at its next pass: the count reaches its final value in one step from below 20 or lands on 20.
        try await eventually("the acks' events are written") {
            try await c.store.listEvents(cluster: nil, group: nil, after: 0, limit: 10_000).filter { $0.nodeID == nodeID && $0.kind == .configApplied }.count >= 20
        }
        let events = try await c.store.listEvents(cluster: nil, group: nil, after: 0, limit: 10_000).filter { $0.nodeID == nodeID && $0.kind == .configApplied }
        #expect(events.count == 20, "\(events.count) events from 200 acks")
        await c.stop()
    }
}
