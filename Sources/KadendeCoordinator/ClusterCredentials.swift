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
        if provider == "ec2", values == Self.coordinatorsOwn {
            summary = "the coordinator's own credentials, by an admin's choice"
        } else if provider == "ec2" {
            let known: Set = ["accessKeyID", "secretAccessKey", "sessionToken"]
            if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
                throw Refusal(description: "unknown key \"\(unknown.prefix(64))\" for ec2 (expected accessKeyID, secretAccessKey, sessionToken, or source=coordinator alone)")
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

    /// What an admin stores for a cluster that is to use the coordinator's own EC2 credentials.
    static let coordinatorsOwn = ["source": "coordinator"]

    /// The cluster's stored EC2 credentials, or the coordinator's own (environment, credentials file) where an admin
    /// chose that for the cluster. A cluster with neither is refused: the coordinator's account is not a tenant's
    /// by default. Calls made for no cluster (the coordinator's own housekeeping) use the coordinator's.
    func ec2(cluster: String?) async throws -> AWSCredentials {
        guard let cluster else { return try AWSCredentialSources.resolve() }
        guard let values = try await values(cluster: cluster, provider: "ec2") else {
            throw Refusal(description: "cluster \(cluster) has no EC2 credentials: an admin stores them with kadende credentials set ec2 --cluster \(cluster), "
                          + "or lets the cluster use the coordinator's own with kadende credentials set ec2 --from-coordinator --cluster \(cluster)")
        }
        if values == Self.coordinatorsOwn { return try AWSCredentialSources.resolve() }
        guard let key = values["accessKeyID"], let secret = values["secretAccessKey"] else {
            throw Refusal(description: "cluster \(cluster)'s EC2 credentials lack accessKeyID or secretAccessKey")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["sessionToken"])
    }

    /// `AKIA…WXYZ`: enough to tell keys apart, not enough to use one.
    static func mask(_ key: String) -> String {
        key.count <= 8 ? String(repeating: "•", count: key.count) : "\(key.prefix(4))…\(key.suffix(4))"
    }
}
