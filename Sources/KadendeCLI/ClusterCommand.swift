import ArgumentParser
import Foundation
import KadendeAPI

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Clusters (tenants): create, list, delete; a cluster's members, quota and credentials.",
        discussion: "Admins create and delete clusters and give users roles in them (`kadende user role USER ROLE --cluster NAME`).",
        subcommands: [List.self, Get.self, Create.self, Delete.self, Quota.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The clusters you may read, with their groups, nodes and members.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let clusters: [APICluster] = try await options.client.get("/v1/clusters")
            try Output.print(clusters, format: options.output) {
                [["CLUSTER", "GROUPS", "NODES", "QUOTA", "MEMBERS"]] + clusters.map {
                    [$0.name, "\($0.groups)", "\($0.liveNodes)", $0.nodeQuota.map(String.init) ?? "-",
                     $0.members.map { "\($0.user) (\($0.role))" }.joined(separator: ", ")]
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a cluster (admins).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Its name: 1-63 lowercase letters, digits or '-'.")
        var name: String

        func run() async throws {
            let cluster: APICluster = try await options.client.post("/v1/clusters", json: APIClusterCreate(name: name))
            try Output.print(cluster, format: options.output) { ClusterCommand.rows(cluster) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an empty cluster with its memberships and credentials (admins).",
            discussion: "Refused while the cluster has groups or live nodes: delete its groups first and wait for their nodes to go.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The cluster.")
        var name: String

        func run() async throws {
            let cluster: APICluster = try await options.client.delete("/v1/clusters/\(APIClient.escape(name))")
            print("deleted cluster \(cluster.name)")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the cluster's quota, its live nodes and which provider credentials it holds.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let cluster: APICluster = try await options.client.get("/v1/clusters/\(APIClient.escape(options.cluster))")
            try Output.print(cluster, format: options.output) { ClusterCommand.rows(cluster) }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cap the cluster's nodes (machines), or `none` to lift the cap.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Most nodes the cluster may have, or none.")
        var nodes: String

        func run() async throws {
            let quota: Int?
            if nodes == "none" { quota = nil } else {
                guard let n = Int(nodes), n >= 0 else { throw ValidationError("\(nodes): expected a number of nodes or none") }
                quota = n
            }
            let cluster: APICluster = try await options.client.put("/v1/clusters/\(APIClient.escape(options.cluster))/quota", json: APIQuota(nodes: quota))
            try Output.print(cluster, format: options.output) { ClusterCommand.rows(cluster) }
        }
    }

    static func rows(_ c: APICluster) -> [[String]] {
        [["cluster", c.name], ["groups", "\(c.groups)"], ["nodes", "\(c.liveNodes)" + (c.nodeQuota.map { " of at most \($0)" } ?? " (no quota)")]]
            + c.members.map { ["member", "\($0.user): \($0.role)"] }
            + c.credentials.map { ["credentials", "\($0.provider): \($0.summary), set \($0.updatedAt)"] }
    }
}

/// Provider credentials per cluster. Values are read from standard input or the environment, never from the
/// command line (which other users of the machine can read in the process list).
struct CredentialsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credentials", abstract: "A cluster's provider credentials (stored encrypted).",
                                                    subcommands: [Set.self, Delete.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store credentials for a provider: KEY=VALUE lines on standard input, or --from-env.",
            discussion: """
                For ec2 the keys are accessKeyID, secretAccessKey and (for temporary credentials) sessionToken;
                --from-env reads them from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
                --from-coordinator lets the cluster use the coordinator's own AWS credentials instead; a cluster with
                neither makes no EC2 call. Plugins receive their cluster's values in every request.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "The provider, as groups name it.")
        var provider: String
        @Flag(help: "ec2: take the AWS_* variables of this shell.")
        var fromEnv = false
        @Flag(help: "ec2: let the cluster use the coordinator's own AWS credentials (its environment or credentials file).")
        var fromCoordinator = false

        func run() async throws {
            var values: [String: String] = [:]
            if fromCoordinator {
                guard provider == "ec2", !fromEnv else { throw ValidationError("--from-coordinator is for ec2, without --from-env") }
                values["source"] = "coordinator"
            } else if fromEnv {
                guard provider == "ec2" else { throw ValidationError("--from-env is for ec2; give other providers KEY=VALUE lines on stdin") }
                values["accessKeyID"] = ProcessEnvironment.value("AWS_ACCESS_KEY_ID")
                values["secretAccessKey"] = ProcessEnvironment.value("AWS_SECRET_ACCESS_KEY")
                values["sessionToken"] = ProcessEnvironment.value("AWS_SESSION_TOKEN")
            } else {
                while let line = readLine() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                    guard let eq = trimmed.firstIndex(of: "=") else { throw ValidationError("standard input: expected KEY=VALUE lines") }
                    values[String(trimmed[..<eq])] = String(trimmed[trimmed.index(after: eq)...])
                }
            }
            let stored: APICredentialSummary = try await options.client.put(
                "/v1/clusters/\(APIClient.escape(options.cluster))/credentials/\(APIClient.escape(provider))", json: APICredentials(values: values))
            if options.output == .table {
                print("cluster \(options.cluster): \(stored.provider) credentials stored (\(Output.clean(stored.summary)))")
            } else {
                try Output.print(stored, format: options.output) { [] }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a provider's credentials; the cluster makes no calls to it until new ones are set.")
        @OptionGroup var options: ClientOptions
        @Argument var provider: String

        func run() async throws {
            let cluster: APICluster = try await options.client.delete("/v1/clusters/\(APIClient.escape(options.cluster))/credentials/\(APIClient.escape(provider))")
            try Output.print(cluster, format: options.output) { ClusterCommand.rows(cluster) }
        }
    }
}
