import Crypto
import KadendeSupport
import struct Foundation.Data

/// Seals secrets (provider credentials) before they reach the store: ChaCha20-Poly1305 under a 256-bit key kept
/// apart from the database, with the secret's cluster and name as associated data, so a sealed value copied onto
/// another row does not open. The key comes from `KADENDE_SECRET_KEY` (base64, for deployments that keep keys in a
/// secret manager) or from `<data>/secret.key` (0600, made at first start).
public struct SecretBox: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    public static func load(dataDirectory: String, environment: [String: String]) throws -> SecretBox {
        if let given = environment["KADENDE_SECRET_KEY"] {
            guard let bytes = Data(base64Encoded: given.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw Failure(description: "KADENDE_SECRET_KEY must be 32 bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`)")
            }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        let path = dataDirectory + "/secret.key"
        if let bytes = try SecureFile.read(path) {
            guard bytes.count == 32 else { throw Failure(description: "\(path) must hold 32 bytes; it holds \(bytes.count)") }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        let key = SymmetricKey(size: .bits256)
        try SecureFile.write(key.withUnsafeBytes { Array($0) }, to: path, mode: 0o600)
        return SecretBox(key: key)
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> [UInt8] {
        Array(try ChaChaPoly.seal(plaintext, using: key, authenticating: Array(context.utf8)).combined)
    }

    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        do {
            return Array(try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: sealed), using: key, authenticating: Array(context.utf8)))
        } catch {
            throw Failure(description: "secret \(context) does not open with this coordinator's key (was the data directory's secret.key or KADENDE_SECRET_KEY changed?)")
        }
    }
}
