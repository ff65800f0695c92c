import Crypto
import Foundation
@testable import KadendeAgent
import KadendePKI
import KadendeWire
import Logging
import Testing
import X509

@Suite struct RenewalTests {
    func agent(issuedAgo: Double, lifetime: Double) throws -> (Agent, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-agent-\(UUID())").path
        let ca = try CertificateAuthority.create(commonName: "test", now: Date())
        let key = P256.Signing.PrivateKey()
        let nodeID = "n-0123456789abcdef"
        let cert = try ca.issueNodeCertificate(csrDER: Array(NodeIdentity.makeCSR(nodeID: nodeID, key: key)), nodeID: nodeID,
                                               lifetime: lifetime, now: Date().addingTimeInterval(-issuedAgo))
        try NodeIdentity(key: key, certificate: cert, ca: ca.certificate).save(to: dir)
        let settings = try AgentSettings(config: AgentConfig(nodeID: nodeID, endpoints: ["127.0.0.1:1"], caPin: ca.pin.description,
                                                             token: "unused", dataDir: dir))
        return (try Agent(settings: settings, logger: Logger(label: "test")), dir)
    }

    @Test func renewsAtTwoThirdsOfTheLifeAndOnlyOnceInFlight() throws {
        // Issued 100 s ago for 120 s (valid from 160 s ago): two thirds of 180 s passed 40 s ago.
        let (agent, dir) = try agent(issuedAgo: 100, lifetime: 120)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let renew = try #require(try agent.renewalIfDue(now: Date()))
        let csr = try CertificateSigningRequest(derEncoded: Array(renew.csrDER))
        #expect(CertificateTools.commonName(of: csr.subject) == "n-0123456789abcdef")
        #expect(try agent.renewalIfDue(now: Date()) == nil, "one renewal at a time")
    }

    @Test func freshCertificateIsNotRenewed() throws {
        let (agent, dir) = try agent(issuedAgo: 0, lifetime: 86_400)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try agent.renewalIfDue(now: Date()) == nil)
        #expect(try agent.renewalIfDue(now: Date().addingTimeInterval(86_400 * 2 / 3 + 60)) != nil)
    }

    @Test func identityFilesAreOwnerOnly() throws {
        let (_, dir) = try agent(issuedAgo: 0, lifetime: 60)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["node-key.pem", "node.pem", "ca.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file)")
        }
    }
}
