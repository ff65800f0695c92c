import Crypto
import SwiftASN1
import X509
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// Small conversions shared by the coordinator's CA and the agent.
public enum CertificateTools {
    public static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    public static func pem(_ certificate: Certificate) throws -> String {
        try certificate.serializeAsPEM().pemString
    }

    /// The common name of a subject, which for node certificates is the node id.
    public static func commonName(of name: DistinguishedName) -> String? {
        for rdn in name {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let s = String(attribute.value) { return s }
            }
        }
        return nil
    }

    public static func serialHex(_ certificate: Certificate) -> String {
        certificate.serialNumber.bytes.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// Parses every certificate in a PEM bundle, in order.
    public static func certificates(fromPEM pem: String) throws -> [Certificate] {
        let documents = try PEMDocument.parseMultiple(pemString: pem)
        return try documents.map { try Certificate(derEncoded: $0.derBytes) }
    }

    public static func hasUsage(_ certificate: Certificate, _ usage: ExtendedKeyUsage.Usage) -> Bool {
        guard let eku = try? certificate.extensions.extendedKeyUsage else { return false }
        return eku.contains(usage)
    }
}
