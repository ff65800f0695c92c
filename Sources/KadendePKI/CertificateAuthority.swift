import Crypto
import KadendeSupport
import SwiftASN1
import X509
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// The coordinator's own CA: created on first start in the data directory (files 0600), then loaded. It signs the
/// coordinator's server certificate and every node's client certificate.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey
    public let pin: CAPin

    public init(certificate: Certificate, key: P256.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.key = key
        self.pin = try CAPin(certificate: certificate)
    }

    public var pem: String { (try? CertificateTools.pem(certificate)) ?? "" }

    /// Makes a new self-signed CA, valid ten years.
    public static func create(commonName: String, now: Date) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Kadende")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: .init(key)
        )
        return try CertificateAuthority(certificate: certificate, key: key)
    }

    /// Loads the CA from `directory`, creating it (and its files, mode 0600) when absent.
    public static func loadOrCreate(in directory: String, now: Date) throws -> CertificateAuthority {
        let certPath = directory + "/ca.pem"
        let keyPath = directory + "/ca-key.pem"
        if let certPEM = try SecureFile.readText(certPath), let keyPEM = try SecureFile.readText(keyPath) {
            return try CertificateAuthority(
                certificate: Certificate(pemEncoded: certPEM),
                key: P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            )
        }
        let ca = try create(commonName: "Kadende coordinator CA", now: now)
        try SecureFile.makeDirectory(directory)
        // Key first: a CA certificate without its key on disk would be unusable after a crash.
        try SecureFile.write(ca.key.pemRepresentation, to: keyPath)
        try SecureFile.write(CertificateTools.pem(ca.certificate), to: certPath)
        return ca
    }

    /// A server certificate for the agent gateway, naming every host and address agents may dial.
    public func issueServerCertificate(hosts: [String], key: P256.Signing.PrivateKey, lifetime: Double, now: Date) throws -> Certificate {
        var names: [GeneralName] = []
        for host in Set(hosts + ["localhost", "127.0.0.1", "::1"]).sorted() {
            if let ip = Self.ipBytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ip[...])))
            } else {
                names.append(.dnsName(host))
            }
        }
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(lifetime),
            issuer: certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("Kadende")
                CommonName("kadende-coordinator")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(self.key)
        )
    }

    /// Signs a node's CSR. The CSR must be self-consistent and its subject must name exactly `nodeID`: a token
    /// for one node can never buy a certificate for another.
    public func issueNodeCertificate(csrDER: [UInt8], nodeID: String, lifetime: Double, now: Date) throws(PKIError) -> Certificate {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: csrDER)
        } catch {
            throw PKIError(.invalidCSR, "CSR does not parse")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError(.invalidCSR, "CSR signature does not match its public key")
        }
        let subject = CertificateTools.commonName(of: csr.subject)
        guard subject == nodeID else {
            throw PKIError(.subjectMismatch, "CSR names \(subject ?? "nothing") but the token is bound to \(nodeID)")
        }
        do {
            return try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: csr.publicKey,
                notValidBefore: now.addingTimeInterval(-60),
                notValidAfter: now.addingTimeInterval(lifetime),
                issuer: certificate.subject,
                subject: try DistinguishedName { CommonName(nodeID) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: .init(key)
            )
        } catch {
            throw PKIError(.invalidCSR, "cannot sign CSR: \(error)")
        }
    }

    private static func ipBytes(_ host: String) -> [UInt8]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4 {
            let bytes = parts.compactMap { UInt8($0) }
            return bytes.count == 4 ? bytes : nil
        }
        if host == "::1" { return Array(repeating: 0, count: 15) + [1] }
        return nil
    }
}
