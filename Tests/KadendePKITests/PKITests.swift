import Crypto
import Foundation
import KadendePKI
import Testing
import X509

@Suite struct PKITests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func caIsCreatedOnceWithOwnerOnlyFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-pki-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try CertificateAuthority.loadOrCreate(in: dir, now: now)
        let second = try CertificateAuthority.loadOrCreate(in: dir, now: now)
        #expect(first.pin == second.pin)
        for file in ["ca.pem", "ca-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) must be readable by its owner only")
        }
    }

    @Test func nodeCertificateNamesTheNodeAndIsForClients() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        let key = P256.Signing.PrivateKey()
        let csr = try NodeIdentity.makeCSR(nodeID: "n-0123456789abcdef", key: key)
        let cert = try ca.issueNodeCertificate(csrDER: Array(csr), nodeID: "n-0123456789abcdef", lifetime: 86_400, now: now)
        #expect(CertificateTools.commonName(of: cert.subject) == "n-0123456789abcdef")
        #expect(cert.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(CertificateTools.hasUsage(cert, .clientAuth))
        #expect(!CertificateTools.hasUsage(cert, .serverAuth))
        #expect(cert.notValidAfter.timeIntervalSince(now) == 86_400)
        let identity = NodeIdentity(key: key, certificate: cert, ca: ca.certificate)
        // Renewal at two thirds of the life that started a minute before issue (clock skew allowance).
        #expect(abs(identity.renewAt.timeIntervalSince(cert.notValidBefore) - (86_400 + 60) * 2 / 3) < 1)
    }

    @Test func csrForAnotherNodeIsRefused() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        let csr = try NodeIdentity.makeCSR(nodeID: "n-aaaaaaaaaaaaaaaa", key: P256.Signing.PrivateKey())
        let error = #expect(throws: PKIError.self) {
            try ca.issueNodeCertificate(csrDER: Array(csr), nodeID: "n-bbbbbbbbbbbbbbbb", lifetime: 60, now: now)
        }
        #expect(error?.code == .subjectMismatch)
    }

    @Test func tamperedCSRIsRefused() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        var csr = Array(try NodeIdentity.makeCSR(nodeID: "n-aaaaaaaaaaaaaaaa", key: P256.Signing.PrivateKey()))
        csr[csr.count - 3] ^= 0xFF  // inside the signature
        let error = #expect(throws: PKIError.self) {
            try ca.issueNodeCertificate(csrDER: csr, nodeID: "n-aaaaaaaaaaaaaaaa", lifetime: 60, now: now)
        }
        #expect(error?.code == .invalidCSR)
        #expect(throws: PKIError.self) {
            try ca.issueNodeCertificate(csrDER: [0x30, 0x03, 1, 2, 3], nodeID: "n-aaaaaaaaaaaaaaaa", lifetime: 60, now: now)
        }
    }

    @Test func pinAcceptsOnlyItsOwnCAsServers() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        let other = try CertificateAuthority.create(commonName: "other", now: now)
        let key = P256.Signing.PrivateKey()
        let server = try ca.issueServerCertificate(hosts: ["127.0.0.1"], key: key, lifetime: 3600, now: now)
        let chain = [try CertificateTools.der(server), try CertificateTools.der(ca.certificate)]
        #expect(try ca.pin.verifyServerChain(chain, now: now) == ca.certificate)

        let mismatch = #expect(throws: PKIError.self) { try other.pin.verifyServerChain(chain, now: now) }
        #expect(mismatch?.code == .pinMismatch)

        // A server certificate from another CA, shipped next to the pinned CA, is not trusted.
        let forged = try other.issueServerCertificate(hosts: ["127.0.0.1"], key: key, lifetime: 3600, now: now)
        let forgedChain = [try CertificateTools.der(forged), try CertificateTools.der(ca.certificate)]
        #expect((#expect(throws: PKIError.self) { try ca.pin.verifyServerChain(forgedChain, now: now) })?.code == .untrusted)

        let expired = #expect(throws: PKIError.self) { try ca.pin.verifyServerChain(chain, now: now.addingTimeInterval(7200)) }
        #expect(expired?.code == .expired)
    }

    @Test func nodeCertificateCannotPoseAsServer() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        let csr = try NodeIdentity.makeCSR(nodeID: "n-aaaaaaaaaaaaaaaa", key: P256.Signing.PrivateKey())
        let node = try ca.issueNodeCertificate(csrDER: Array(csr), nodeID: "n-aaaaaaaaaaaaaaaa", lifetime: 3600, now: now)
        let chain = [try CertificateTools.der(node), try CertificateTools.der(ca.certificate)]
        let error = #expect(throws: PKIError.self) { try ca.pin.verifyServerChain(chain, now: now) }
        #expect(error?.code == .wrongUsage)
    }

    @Test func pinTextRoundTrips() throws {
        let ca = try CertificateAuthority.create(commonName: "test", now: now)
        #expect(CAPin(ca.pin.description) == ca.pin)
        #expect(CAPin("sha256:xyz") == nil)
        #expect(CAPin("md5:" + String(repeating: "0", count: 64)) == nil)
    }

    @Test func tokensAreLongRandomAndStoredHashed() {
        let a = EnrolmentToken.mint()
        let b = EnrolmentToken.mint()
        #expect(a.token != b.token)
        #expect(a.token.count >= 4 + 32)  // at least 128 bits in hex after the prefix
        #expect(a.hash == EnrolmentToken.hash(a.token))
        #expect(!a.hash.contains(a.token))
    }
}
