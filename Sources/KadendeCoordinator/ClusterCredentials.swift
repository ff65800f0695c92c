import KadendeEC2
import KadendeStore
import struct Foundation.Data
import struct Foundation.Date
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// Each cluster's provider credentials: sealed by `SecretBox` before the store sees them, opened only when a
/// provider call needs them, shown by the API only as a summary (never a value).
struct ClusterCredentials: Sendable {
    let store: any Store
    let box: SecretBox

    struct Refusal: Error, CustomStringConvertible { var description: String }

    static func secretName(_ provider: String) -> String { "provider/\(provider)" }

    /// Checks what a provider needs, seals it, stores it. Returns the summary the API shows.
    func set(cluster: String, provider: String, values: [String: String], at: Date) async throws -> String {
        guard !values.isEmpty, values.count <= 32, values.allSatisfy({ !$0.key.isEmpty && $0.key.count <= 128 && $0.value.utf8.count <= 4096 }) else {
            throw Refusal(description: "credentials are 1 to 32 values, names up to 128 characters, values up to 4 KiB")
        }
        let summary: String
        if provider == "ec2" {
            let known: Set = ["accessKeyID", "secretAccessKey", "sessionToken"]
            if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
                throw Refusal(description: "unknown key \"\(unknown)\" for ec2 (expected accessKeyID, secretAccessKey, sessionToken)")
            }
            guard let key = values["accessKeyID"], !key.isEmpty, !(values["secretAccessKey"] ?? "").isEmpty else {
                throw Refusal(description: "ec2 credentials need accessKeyID and secretAccessKey")
            }
            summary = "access key \(Self.mask(key))" + (values["sessionToken"] == nil ? "" : " with a session token")
        } else {
            summary = "keys " + values.keys.sorted().joined(separator: ", ")
        }
        let name = Self.secretName(provider)
        let plain = try JSONEncoder().encode(values)
        let sealed = try box.seal(Array(plain), context: "\(cluster)/\(name)")
        try await store.setSecret(cluster: cluster, name: name, sealed: sealed, summary: summary, at: at)
        return summary
    }

    func values(cluster: String, provider: String) async throws -> [String: String]? {
        let name = Self.secretName(provider)
        guard let sealed = try await store.sealedSecret(cluster: cluster, name: name) else { return nil }
        let plain = try box.open(sealed, context: "\(cluster)/\(name)")
        return try JSONDecoder().decode([String: String].self, from: Data(plain))
    }

    /// The cluster's stored EC2 credentials, else the coordinator's own (environment, credentials file).
    func ec2(cluster: String?) async throws -> AWSCredentials {
        if let cluster, let values = try await values(cluster: cluster, provider: "ec2"),
           let key = values["accessKeyID"], let secret = values["secretAccessKey"] {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["sessionToken"])
        }
        return try AWSCredentialSources.resolve()
    }

    /// `AKIA…WXYZ`: enough to tell keys apart, not enough to use one.
    static func mask(_ key: String) -> String {
        key.count <= 8 ? String(repeating: "•", count: key.count) : "\(key.prefix(4))…\(key.suffix(4))"
    }
}
