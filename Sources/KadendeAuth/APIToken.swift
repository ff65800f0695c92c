import Crypto
import KadendeSupport

/// API tokens: `kdk_` and 32 random bytes in hex, so a leaked one is recognisable (secret scanners, logs) and
/// long enough that guessing is hopeless. Shown once when minted; the store keeps only the SHA-256 and an id of the
/// token's own (to name it in lists), which says nothing of the secret.
public struct APIToken: Sendable {
    public static let prefix = "kdk_"
    public var secret: String
    public var hash: String
    /// `tok_` and 64 random bits: unique in the store, unrelated to the secret.
    public var shortID: String

    public static func mint() -> APIToken {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let id = (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secret = prefix + Hex.encode(bytes)
        return APIToken(secret: secret, hash: hash(secret), shortID: "tok_" + Hex.encode(id))
    }

    public static func hash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Only strings of the token's shape are looked up at all.
    public static func isWellFormed(_ text: String) -> Bool {
        text.count == prefix.count + 64 && text.hasPrefix(prefix) && text.dropFirst(prefix.count).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
