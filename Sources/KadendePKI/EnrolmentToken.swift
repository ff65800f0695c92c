import Crypto
import KadendeSupport

/// Single-use enrolment tokens: 256 random bits, shown once (in user-data), stored only as a SHA-256 hash.
public enum EnrolmentToken {
    public static func mint() -> (token: String, hash: String) {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let token = "kdt_" + Hex.encode(bytes)
        return (token, hash(token))
    }

    public static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Array(token.utf8)))
    }
}
