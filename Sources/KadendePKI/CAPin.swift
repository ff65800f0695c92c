import Crypto
import KadendeSupport
import X509
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// The SHA-256 of the coordinator's CA certificate (DER), written `sha256:<64 hex>`. User-data carries it instead
/// of the CA itself so the agent can check the first server it meets without any prior trust store.
public struct CAPin: Sendable, Hashable, CustomStringConvertible, Codable {
    public let digest: [UInt8]

    public init(certificate: Certificate) throws {
        digest = Array(SHA256.hash(data: try CertificateTools.der(certificate)))
    }

    public init(derBytes: [UInt8]) {
        digest = Array(SHA256.hash(data: derBytes))
    }

    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.dropFirst(7).utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let b = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
            i += 2
        }
        digest = bytes
    }

    public var description: String {
        "sha256:" + Hex.encode(digest)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let pin = CAPin(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a CA pin (sha256:<64 hex>)"))
        }
        self = pin
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Checks a server's presented chain (leaf first, DER): one certificate in it must be the pinned CA, and
    /// the leaf must be signed by that CA, valid now, and meant for servers. Returns the pinned CA.
    public func verifyServerChain(_ chain: [[UInt8]], now: Date) throws(PKIError) -> Certificate {
        guard let leafDER = chain.first else { throw PKIError(.untrusted, "server presented no certificate") }
        guard let caDER = chain.first(where: { CAPin(derBytes: $0) == self }) else {
            throw PKIError(.pinMismatch, "no certificate in the server's chain matches pin \(self)")
        }
        let ca: Certificate
        let leaf: Certificate
        do {
            ca = try Certificate(derEncoded: caDER)
            leaf = try Certificate(derEncoded: leafDER)
        } catch {
            throw PKIError(.unreadable, "server certificate does not parse: \(error)")
        }
        guard leaf.issuer == ca.subject, ca.publicKey.isValidSignature(leaf.signature, for: leaf) else {
            throw PKIError(.untrusted, "server certificate is not signed by the pinned CA")
        }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw PKIError(.expired, "server certificate is valid \(leaf.notValidBefore) .. \(leaf.notValidAfter), now is \(now)")
        }
        guard CertificateTools.hasUsage(leaf, .serverAuth) else {
            throw PKIError(.wrongUsage, "certificate is not meant for servers")
        }
        return ca
    }
}
