import Foundation

/// Dates in the API: ISO 8601 in UTC with milliseconds, so events a few milliseconds apart keep their order and
/// measured durations are not rounded to whole seconds. Decoding also accepts whole seconds.
public enum APIDates {
    static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let plain = Date.ISO8601FormatStyle()

    public static let encoding: JSONEncoder.DateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(withFraction.format(date))
    }

    public static let decoding: JSONDecoder.DateDecodingStrategy = .custom { decoder in
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let date = try? withFraction.parse(text) ?? plain.parse(text) { return date }
        if let date = try? plain.parse(text) { return date }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not an ISO 8601 date")
    }
}
