/// A span of time in a spec, written in YAML as `500ms`, `3s`, `10m` or `1h`, stored as seconds.
public struct Seconds: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Double

    public init(_ value: Double) { self.value = value }

    public static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.value < rhs.value }

    /// Parses `250ms`, `1.5s`, `10m`, `2h`; a bare number means seconds.
    public init?(parsing text: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" also ends in "s": only accept a number before the suffix.
            guard let n = Double(number), n.isFinite, n >= 0 else { continue }
            self.value = n * factor
            return
        }
        guard let n = Double(text), n.isFinite, n >= 0 else { return nil }
        self.value = n
    }

    public var description: String {
        if value >= 1, value.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(value / 3600))h" }
        if value >= 1, value.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(value / 60))m" }
        if value >= 1, value.rounded() == value { return "\(Int(value))s" }
        return "\(Int((value * 1000).rounded()))ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) {
            value = d
        } else {
            let s = try c.decode(String.self)
            guard let parsed = Seconds(parsing: s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a duration: \(s)")
            }
            value = parsed.value
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
