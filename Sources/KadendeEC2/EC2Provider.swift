import Foundation
import KadendeModel
import KadendeProviders
import Logging

/// Machines on EC2, spoken to over the Query API. Every instance carries Kadende's tags (cluster, group, node id,
/// spec hash) from birth through TagSpecifications, and `ClientToken` is the node id, so EC2 itself refuses to make
/// a second machine for a retried create. A create whose answer never came is resolved by listing by the node's
/// tag, not by creating again.
public struct EC2Provider: ClusterScopedProvider {
    public let name: String
    var client: EC2Client
    let logger: Logger
    let checks: StatusChecks

    /// `statusCheckInterval`: how often EC2's status checks are read (DescribeInstanceStatus); they change on
    /// EC2's side every minute or so, and every call counts against the account's request rate.
    public init(name: String = "ec2", client: EC2Client, logger: Logger, statusCheckInterval: Double = 15) {
        self.name = name
        self.client = client
        self.logger = logger
        self.checks = StatusChecks(interval: statusCheckInterval)
    }

    /// The same provider with the cluster's credentials.
    public func scoped(to cluster: String) -> any Provider {
        var copy = self
        copy.client.cluster = cluster
        return copy
    }

    public func validate(_ spec: GroupSpec) throws(ProviderError) {
        guard let image = spec.machine.image, image.hasPrefix("ami-") else {
            throw ProviderError(.invalidSpec, provider: name, "machine.image must name an AMI (ami-…), got \(spec.machine.image.map { "\"\($0)\"" } ?? "nothing")")
        }
        guard let type = spec.machine.type, !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else {
            throw ProviderError(.invalidSpec, provider: name, "machine.type must name an instance type (e.g. t3.micro)")
        }
        if let region = spec.machine.region, region != client.settings.region {
            throw ProviderError(.invalidSpec, provider: name,
                                "machine.region \(region) differs from this coordinator's EC2 region \(client.settings.region) (--ec2-region)")
        }
        if let subnet = spec.machine.subnet, !subnet.hasPrefix("subnet-") {
            throw ProviderError(.invalidSpec, provider: name, "machine.subnet must name a subnet (subnet-…), got \"\(subnet)\"")
        }
        if let bad = (spec.machine.securityGroups ?? []).first(where: { !$0.hasPrefix("sg-") }) {
            throw ProviderError(.invalidSpec, provider: name, "machine.securityGroups takes security group ids (sg-…), got \"\(bad)\"")
        }
        for (key, value) in spec.machine.tags where key.hasPrefix("aws:") || key.count > 128 || value.count > 256 {
            throw ProviderError(.invalidSpec, provider: name, "machine.tags.\(key): EC2 refuses keys starting aws:, keys over 128 and values over 256 characters")
        }
    }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        let userData: String
        switch request.userData {
        case .success(let data): userData = data
        case .failure(let error): throw error
        }
        // A retry of a create that EC2 did carry out: the tag finds it before any second RunInstances.
        if let existing = try await find(nodeID: request.nodeID) { return existing }
        var parameters: [(String, String)] = [
            ("ImageId", request.spec.machine.image ?? ""),
            ("InstanceType", request.spec.machine.type ?? ""),
            ("MinCount", "1"), ("MaxCount", "1"),
            ("ClientToken", request.nodeID),
            ("UserData", Data(userData.utf8).base64EncodedString()),
            ("TagSpecification.1.ResourceType", "instance"),
        ]
        for (i, tag) in request.tags.sorted(by: { $0.key < $1.key }).enumerated() {
            parameters.append(("TagSpecification.1.Tag.\(i + 1).Key", tag.key))
            parameters.append(("TagSpecification.1.Tag.\(i + 1).Value", tag.value))
        }
        let machine = request.spec.machine
        if let zone = machine.zone { parameters.append(("Placement.AvailabilityZone", zone)) }
        if let subnet = machine.subnet { parameters.append(("SubnetId", subnet)) }
        for (i, group) in (machine.securityGroups ?? []).enumerated() { parameters.append(("SecurityGroupId.\(i + 1)", group)) }
        if let profile = machine.profile { parameters.append((profile.hasPrefix("arn:") ? "IamInstanceProfile.Arn" : "IamInstanceProfile.Name", profile)) }
        if let key = machine.keyPair { parameters.append(("KeyName", key)) }
        do {
            let answer = try await client.call("RunInstances", parameters, retryTimeouts: false)
            guard let item = answer.items("instancesSet").first, let instance = Self.instance(item) else {
                throw ProviderError(.createFailed, provider: name, "RunInstances answered without an instance")
            }
            return instance
        } catch let error as EC2Error where error.isTimeout {
            // EC2 may have made it: ask by tag, and only then try again (ClientToken keeps that second try safe).
            logger.warning("RunInstances timed out; looking the node up by its tag", metadata: ["node.id": "\(request.nodeID)"])
            if let existing = try await find(nodeID: request.nodeID) { return existing }
            throw ProviderError(.timeout, provider: name, "\(error); no instance is tagged for \(request.nodeID), so the next pass creates it again")
        } catch let error as EC2Error {
            throw providerError(.createFailed, error)
        } catch let error as ProviderError {
            throw error
        } catch {
            throw ProviderError(.createFailed, provider: name, "\(error)")
        }
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        do {
            _ = try await client.call("TerminateInstances", [("InstanceId.1", instanceID)])
        } catch where error.code == "InvalidInstanceID.NotFound" {
            return  // already gone: destroying is idempotent
        } catch {
            throw providerError(.destroyFailed, error)
        }
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        var parameters: [(String, String)] = []
        for (i, tag) in tags.sorted(by: { $0.key < $1.key }).enumerated() {
            parameters.append(("Filter.\(i + 1).Name", "tag:\(tag.key)"))
            parameters.append(("Filter.\(i + 1).Value.1", tag.value))
        }
        return try await withStatusChecks(try await describeInstances(parameters))
    }

    /// Running instances whose EC2 status checks fail are reported `impaired`: a second signal beside silence.
    /// A failed status read costs nothing but the signal: the list stands without it.
    private func withStatusChecks(_ instances: [Instance]) async -> [Instance] {
        let running = instances.filter { $0.status == .running }.map(\.id)
        guard !running.isEmpty else { return instances }
        var impaired = await checks.impaired(covering: running, now: Date())
        if impaired == nil {
            var found: Set<String> = []
            do {
                for chunk in stride(from: 0, to: running.count, by: 100).map({ Array(running[$0..<min($0 + 100, running.count)]) }) {
                    var parameters = [("IncludeAllInstances", "true")]
                    for (i, id) in chunk.enumerated() { parameters.append(("InstanceId.\(i + 1)", id)) }
                    let answer = try await client.call("DescribeInstanceStatus", parameters)
                    for item in answer.items("instanceStatusSet") {
                        let failing = [item.value("instanceStatus", "status"), item.value("systemStatus", "status")].contains("impaired")
                        if failing, let id = item.value("instanceId") { found.insert(id) }
                    }
                }
                await checks.store(found, checked: running, now: Date())
                impaired = found
            } catch {
                logger.warning("EC2 status checks unavailable", metadata: ["error": "\(error)"])
            }
        }
        guard let impaired, !impaired.isEmpty else { return instances }
        return instances.map { instance in
            var instance = instance
            if instance.status == .running, impaired.contains(instance.id) { instance.status = .impaired }
            return instance
        }
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        do {
            return try await describeInstances([("InstanceId.1", instanceID)]).first
        } catch where error.message.contains("InvalidInstanceID.NotFound") {
            return nil
        }
    }

    /// The instance made for `nodeID`, if any that is not terminated.
    func find(nodeID: String) async throws(ProviderError) -> Instance? {
        try await list(tags: [InstanceTag.node: nodeID]).first { $0.status != .terminated }
    }

    private func describeInstances(_ parameters: [(String, String)]) async throws(ProviderError) -> [Instance] {
        var instances: [Instance] = []
        var token: String?
        var pages = 0
        repeat {
            pages += 1
            var page = parameters
            if let token { page.append(("NextToken", token)) }
            let answer: XMLTree
            do { answer = try await client.call("DescribeInstances", page) } catch { throw providerError(.listFailed, error) }
            for reservation in answer.items("reservationSet") {
                instances += reservation.items("instancesSet").compactMap(Self.instance)
            }
            token = answer.value("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil && pages < 100
        return instances
    }

    private func providerError(_ code: ProviderError.Code, _ error: EC2Error) -> ProviderError {
        if error.isAuthentication {
            return ProviderError(.authentication, provider: name, "authentication failed: \(error). Check the access key and secret Kadende uses for EC2")
        }
        return ProviderError(error.isTimeout ? .timeout : code, provider: name, "\(error)")
    }

    static func instance(_ item: XMLTree) -> Instance? {
        guard let id = item.value("instanceId") else { return nil }
        var tags: [String: String] = [:]
        for tag in item.items("tagSet") {
            if let key = tag.value("key") { tags[key] = tag.value("value") ?? "" }
        }
        let launched = item.value("launchTime").flatMap { ISO8601DateFormatter.ec2.date(from: $0) ?? ISO8601DateFormatter().date(from: $0) }
        return Instance(id: id, tags: tags, status: status(item.value("instanceState", "name") ?? ""),
                        address: item.value("privateIpAddress") ?? item.value("ipAddress"), launchedAt: launched ?? Date())
    }

    static func status(_ state: String) -> InstanceStatus {
        switch state {
        case "pending": .pending
        case "running": .running
        case "stopping", "stopped": .stopped
        default: .terminated  // shutting-down, terminated
        }
    }
}

/// Answers of DescribeInstanceStatus, each reused for `interval` seconds.
actor StatusChecks {
    let interval: Double
    private var readAt: [String: (Date, Bool)] = [:]

    init(interval: Double) { self.interval = interval }

    /// The impaired among `ids`, or nil when one of them has no fresh answer.
    func impaired(covering ids: [String], now: Date) -> Set<String>? {
        var impaired: Set<String> = []
        for id in ids {
            guard let (at, failing) = readAt[id], now.timeIntervalSince(at) < interval else { return nil }
            if failing { impaired.insert(id) }
        }
        return impaired
    }

    func store(_ impaired: Set<String>, checked: [String], now: Date) {
        readAt = readAt.filter { now.timeIntervalSince($0.value.0) < interval }
        for id in checked { readAt[id] = (now, impaired.contains(id)) }
    }
}

extension ISO8601DateFormatter {
    /// EC2 writes `2026-11-26T11:15:03.000Z`.
    nonisolated(unsafe) static let ec2: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
