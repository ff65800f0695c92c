import KadendeSupport

/// A span of time in a spec, written in YAML as `500ms`, `3s`, `10m` or `1h`, stored as seconds. No span is longer
/// than `maximum` (a year and a day): each field has its own, smaller bound besides (`GroupSpec.validate`).
public struct Seconds: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maximum = Clamp.maxSeconds

    public var value: Double

    public init(_ value: Double) { self.value = value }

    public static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.value < rhs.value }

    /// Parses `250ms`, `1.5s`, `10m`, `2h`; a bare number means seconds.
    public init?(parsing text: String) { self.init(parsing: text, maximum: Self.maximum) }

    /// Stored values are read back whatever their size (a row written before the bound must not make its group
    /// unreadable); every use of one converts it without a trap (`Clamp`).
    public init?(parsing text: String, maximum: Double) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" also ends in "s": only accept a number before the suffix.
            guard let n = Double(number), n.isFinite, n >= 0 else { continue }
            guard n * factor <= maximum else { return nil }
            self.value = n * factor
            return
        }
        guard let n = Double(text), n.isFinite, n >= 0, n <= maximum else { return nil }
        self.value = n
    }

    public var description: String {
        // A value read from an old row may lie beyond the bound: shown as it is, never converted to Int.
        guard value.isFinite, value >= 0, value <= Self.maximum else { return "\(value)s" }
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
            guard let parsed = Seconds(parsing: s, maximum: .greatestFiniteMagnitude) else {
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
