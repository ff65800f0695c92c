import Crypto
import CryptoExtras
import struct Foundation.Data

/// Passwords are kept as scrypt hashes (memory-hard: a GPU farm pays in memory for every guess), in a PHC-style
/// string that carries its own parameters, so they can be raised later and old hashes still verify:
/// `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64, no padding).
public struct PasswordHasher: Sendable {
    /// log2 of scrypt's N. 15 (32 MiB with r = 8) takes about 0.1 s here: slow for a guesser, fine for a login.
    public var logRounds: Int
    public var blockSize: Int
    public var parallelism: Int
    public static let minimumLength = 12
    public static let maximumLength = 1024

    public init(logRounds: Int = 15, blockSize: Int = 8, parallelism: Int = 1) {
        self.logRounds = logRounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Refuses a password too short or too long to be worth hashing; never echoes it.
    public static func check(_ password: String) throws(Refusal) {
        let count = password.unicodeScalars.count
        guard count >= minimumLength else { throw Refusal(description: "a password needs at least \(minimumLength) characters") }
        guard password.utf8.count <= maximumLength else { throw Refusal(description: "a password may have at most \(maximumLength) bytes") }
    }

    public func hash(_ password: String) throws -> String {
        try Self.check(password)
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        let derived = try derive(password, salt: salt, logRounds: logRounds, blockSize: blockSize, parallelism: parallelism)
        return "$scrypt$ln=\(logRounds),r=\(blockSize),p=\(parallelism)$\(Self.b64(salt))$\(Self.b64(derived))"
    }

    /// True when `password` matches `stored`; false for a wrong password or a stored value that is not ours.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt", password.utf8.count <= Self.maximumLength else { return false }
        var params: [String: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let v = Int(kv[1]) { params[String(kv[0])] = v }
        }
        guard let ln = params["ln"], let r = params["r"], let p = params["p"], (10...20).contains(ln), (1...32).contains(r), (1...16).contains(p),
              let salt = Self.unb64(String(parts[3])), let expected = Self.unb64(String(parts[4])), expected.count == 32,
              let derived = try? derive(password, salt: salt, logRounds: ln, blockSize: r, parallelism: p)
        else { return false }
        // Constant time: every byte is compared, whatever the first difference.
        return zip(derived, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func derive(_ password: String, salt: [UInt8], logRounds: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: 1 << logRounds, blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes { Array($0) }
    }

    static func b64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    static func unb64(_ text: String) -> [UInt8]? {
        let padded = text + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded).map(Array.init)
    }
}
