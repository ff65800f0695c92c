import Crypto
import KadendeSupport
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// The agent's side of PKI: a key generated on the node (never leaves it), the CSR naming the node, and the
/// certificate and CA received at enrolment, kept in the agent's data directory (0600).
public struct NodeIdentity: Sendable {
    public var key: P256.Signing.PrivateKey
    public var certificate: Certificate
    public var ca: Certificate

    public init(key: P256.Signing.PrivateKey, certificate: Certificate, ca: Certificate) {
        self.key = key
        self.certificate = certificate
        self.ca = ca
    }

    public var nodeID: String? { CertificateTools.commonName(of: certificate.subject) }

    /// Renew at two thirds of the certificate's life.
    public var renewAt: Date {
        let start = certificate.notValidBefore.timeIntervalSince1970
        let end = certificate.notValidAfter.timeIntervalSince1970
        return Date(timeIntervalSince1970: start + (end - start) * 2 / 3)
    }

    public static func makeCSR(nodeID: String, key: P256.Signing.PrivateKey) throws -> Data {
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName { CommonName(nodeID) },
            privateKey: .init(key),
            attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256
        )
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return Data(serializer.serializedBytes)
    }

    /// The key an enrolment in flight uses: kept (0600) until its certificate arrives, so an enrolment tried again
    /// after its answer was lost presents the same key, which the coordinator recognises (`Store.reissueEnrolment`).
    public static func enrolmentKey(in directory: String) throws -> P256.Signing.PrivateKey {
        let path = directory + "/" + enrolmentKeyFile
        if let pem = try SecureFile.readText(path) { return try P256.Signing.PrivateKey(pemRepresentation: pem) }
        let key = P256.Signing.PrivateKey()
        try SecureFile.makeDirectory(directory)
        try SecureFile.write(key.pemRepresentation, to: path)
        return key
    }

    /// Forgets the enrolment key once the identity it became is saved.
    public static func enrolmentDone(in directory: String) {
        unlink(directory + "/" + enrolmentKeyFile)
    }

    /// SHA-256 (hex) of a public key's SubjectPublicKeyInfo: how the coordinator recognises a key again.
    public static func keyDigest(_ key: Certificate.PublicKey) -> String {
        Hex.encode(SHA256.hash(data: Array(key.subjectPublicKeyInfoBytes)))
    }

    // Files in the agent's data directory.
    static let enrolmentKeyFile = "enrol-key.pem"
    static let keyFile = "node-key.pem"
    static let certificateFile = "node.pem"
    static let caFile = "ca.pem"

    public static func load(from directory: String) throws -> NodeIdentity? {
        guard let keyPEM = try SecureFile.readText(directory + "/" + keyFile),
              let certPEM = try SecureFile.readText(directory + "/" + certificateFile),
              let caPEM = try SecureFile.readText(directory + "/" + caFile)
        else { return nil }
        return NodeIdentity(
            key: try P256.Signing.PrivateKey(pemRepresentation: keyPEM),
            certificate: try Certificate(pemEncoded: certPEM),
            ca: try Certificate(pemEncoded: caPEM)
        )
    }

    public func save(to directory: String) throws {
        try SecureFile.makeDirectory(directory)
        try SecureFile.write(key.pemRepresentation, to: directory + "/" + Self.keyFile)
        try SecureFile.write(CertificateTools.pem(ca), to: directory + "/" + Self.caFile)
        // Certificate last: its presence means the identity is complete.
        try SecureFile.write(CertificateTools.pem(certificate), to: directory + "/" + Self.certificateFile)
    }
}

