/// Numbers that came from outside (a spec, a stored row, a peer's message) are converted without a trap: Swift's
/// `Int(_: Double)` stops the process on NaN, infinity or a value past `Int.max`, and one such number in a stored
/// spec would stop the coordinator again after every restart. Bounds are checked where a value enters; these
/// conversions are the second line, so that a value that slipped past (an old row, a new code path) cannot trap.
extension Int {
    /// `value` rounded toward zero and held inside `range`; NaN gives the lower bound.
    public init(clamping value: Double, to range: ClosedRange<Int>) {
        if value.isNaN || value <= Double(range.lowerBound) {
            self = range.lowerBound
        } else if value >= Double(range.upperBound) {
            self = range.upperBound
        } else {
            self = Int(value)
        }
    }
}

public enum Clamp {
    /// The longest span any timer in Kadende is set for: a year and a day.
    public static let maxSeconds: Double = 366 * 86_400

    /// Seconds as whole milliseconds, within 0 ... `maxSeconds`.
    public static func milliseconds(_ seconds: Double) -> Int {
        Int(clamping: seconds * 1000, to: 0...Int(maxSeconds * 1000))
    }

    /// Seconds as whole seconds, within 0 ... `maxSeconds`, for messages.
    public static func wholeSeconds(_ seconds: Double) -> Int {
        Int(clamping: seconds, to: 0...Int(maxSeconds))
    }
}
