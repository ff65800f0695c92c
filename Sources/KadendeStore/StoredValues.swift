import KadendeModel
import KadendeWire
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// How every store keeps structured values in text columns: JSON with sorted keys, so equal values are equal text.
public enum StoredJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

extension ConfigPush {
    /// The revision as every store keeps it: numbered, with each file's SHA-256 and the content digest.
    public func stored(as number: Int) -> ConfigRevision {
        var config = content
        config.revision = number
        for i in config.files.indices { config.files[i].sha256 = ConfigRevision.sha256(config.files[i].content) }
        config.digest = config.contentDigest()
        return config
    }

    /// What the `config.pushed` event of revision `number` says.
    public func pushedReason(_ number: Int) -> String {
        "revision \(number) pushed to \(target.description) (\(rollout.strategy.rawValue), batch \(rollout.batch), bake \(rollout.bake))"
            + (message.map { ": \($0.prefix(200))" } ?? "")
    }
}
