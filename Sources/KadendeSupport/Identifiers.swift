/// Node ids are minted by the coordinator, never by a provider or an agent, so that the intent to create a node
/// can be written before any machine exists. They double as the provider's idempotency token.
public enum NodeID {
    /// `n-` followed by 16 lowercase hex characters (64 random bits).
    public static func make<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bits = rng.next() as UInt64
        var hex = ""
        for _ in 0..<16 {
            hex.append(Self.digits[Int(bits & 0xF)])
            bits >>= 4
        }
        return "n-" + hex
    }

    public static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        return make(using: &rng)
    }

    /// Node ids arrive from peers (CSR subjects, messages): only this shape is accepted.
    public static func isValid(_ id: String) -> Bool {
        guard id.count == 18, id.hasPrefix("n-") else { return false }
        return id.dropFirst(2).allSatisfy { Self.digits.contains($0) }
    }

    private static let digits = Array("0123456789abcdef")
}

/// Lowercase hex, as hashes, pins and tokens are written everywhere in Kadende.
public enum Hex {
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = ""
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }

    private static let digits = Array("0123456789abcdef")
}
