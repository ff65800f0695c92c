import NIOSSL
import X509
import Crypto

/// TLS settings for both ends. TLS 1.3 only. The gateway asks for client certificates but accepts connections
/// without one, because an agent that has not enrolled yet has none; such a connection may only enrol.
public enum TLSConfigurations {
    public static func server(ca: Certificate, certificate: Certificate, key: P256.Signing.PrivateKey) throws -> TLSConfiguration {
        var config = try serving(ca: ca, certificate: certificate, key: key)
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .optionalVerification
        config.trustRoots = .certificates([try NIOSSLCertificate(bytes: CertificateTools.der(ca), format: .der)])
        return config
    }

    /// The artifact listener: plain server TLS (1.2 and up, for any node's curl), no client certificates.
    public static func artifactServer(ca: Certificate, certificate: Certificate, key: P256.Signing.PrivateKey) throws -> TLSConfiguration {
        var config = try serving(ca: ca, certificate: certificate, key: key)
        config.minimumTLSVersion = .tlsv12
        config.applicationProtocols = ["http/1.1"]
        return config
    }

    /// The coordinator's certificate and its CA as the chain it presents, with its key.
    private static func serving(ca: Certificate, certificate: Certificate, key: P256.Signing.PrivateKey) throws -> TLSConfiguration {
        let chain = try [certificate, ca].map { try NIOSSLCertificate(bytes: CertificateTools.der($0), format: .der) }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
        )
    }

    /// The agent's configuration. Server trust is decided by `CAPin.verifyServerChain` in a custom verification
    /// callback, so no system trust store is consulted.
    public static func client(identity: NodeIdentity?) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .noHostnameVerification
        config.trustRoots = .certificates([])
        if let identity {
            config.certificateChain = [.certificate(try NIOSSLCertificate(bytes: CertificateTools.der(identity.certificate), format: .der))]
            config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.key.pemRepresentation.utf8), format: .pem))
        }
        return config
    }
}
