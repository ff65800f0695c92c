import Foundation
@testable import KadendeEC2
import KadendeModel
import KadendeProviders
import KadendeWire
import Logging
import NIOConcurrencyHelpers
import Testing

/// The EC2 provider against `FaultyEC2` on loopback: idempotent creates, retries, timeouts and refusals.
@Suite struct EC2ProviderTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDKADENDETEST", secretAccessKey: "test-secret")

    /// Waits are recorded, not slept: the backoff's numbers are checked, and the tests do not wait for them.
    final class Sleeps: @unchecked Sendable {
        let lock = NIOLock()
        var delays: [Double] = []
        func record(_ d: Double) { lock.withLock { delays.append(d) } }
        var all: [Double] { lock.withLock { delays } }
    }

    func provider(_ ec2: FaultyEC2, timeout: Double = 20, sleeps: Sleeps = Sleeps()) -> EC2Provider {
        var settings = EC2Settings(region: "us-east-1", endpoint: ec2.url)
        settings.requestTimeout = timeout
        var client = EC2Client(settings: settings, credentials: { _ in Self.credentials }, logger: Logger(label: "test"))
        client.sleep = { sleeps.record($0) }
        return EC2Provider(client: client, logger: Logger(label: "test"), statusCheckInterval: 0)
    }

    func request(_ nodeID: String = "n-00000000000000a1") -> CreateRequest {
        let spec = GroupSpec(name: "web", provider: "ec2", size: .init(desired: 1, min: 0, max: 2),
                             machine: .init(image: "ami-0123456789abcdef0", type: "t3.micro", zone: "us-east-1a",
                                            subnet: "subnet-0a1b2c", securityGroups: ["sg-01", "sg-02"], profile: "kadende-node", keyPair: "ops"))
        return CreateRequest(nodeID: nodeID, spec: spec,
                             tags: [InstanceTag.cluster: "default", InstanceTag.group: "web", InstanceTag.node: nodeID, InstanceTag.specHash: "r1"],
                             agent: AgentConfig(nodeID: nodeID, endpoints: ["127.0.0.1:7443"], caPin: "sha256:00", token: "kdt_x"),
                             userData: .success("#cloud-config\nruncmd: [[echo, héllo]]\n"))
    }

    @Test func runInstancesCarriesTagsClientTokenAndUserDataSigned() async throws {
        let ec2 = FaultyEC2()
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let instance = try await provider(ec2).create(request())
        #expect(instance.nodeID == "n-00000000000000a1")
        let run = try #require(ec2.calls("RunInstances").first)
        #expect(run.parameters["ClientToken"] == "n-00000000000000a1")
        #expect(run.parameters["ImageId"] == "ami-0123456789abcdef0" && run.parameters["InstanceType"] == "t3.micro")
        #expect(run.parameters["Placement.AvailabilityZone"] == "us-east-1a" && run.parameters["SubnetId"] == "subnet-0a1b2c")
        #expect(run.parameters["SecurityGroupId.1"] == "sg-01" && run.parameters["SecurityGroupId.2"] == "sg-02")
        #expect(run.parameters["IamInstanceProfile.Name"] == "kadende-node" && run.parameters["KeyName"] == "ops")
        let userData = try #require(run.parameters["UserData"].flatMap { Data(base64Encoded: $0) })
        #expect(String(decoding: userData, as: UTF8.self) == "#cloud-config\nruncmd: [[echo, héllo]]\n")
        #expect(ec2.instances.first?.tags == request().tags)
        #expect(run.authorization?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDKADENDETEST/") == true)
        #expect(run.authorization?.contains("/us-east-1/ec2/aws4_request") == true)
    }

    @Test func aCreateWhoseAnswerTimedOutIsFoundByTagNotMadeTwice() async throws {
        // EC2 makes the machine, then the answer never comes.
        let ec2 = FaultyEC2 { call, _ in call.action == "RunInstances" ? .stallAfterWork : .normal }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let provider = provider(ec2, timeout: 0.5)
        let instance = try await provider.create(request())
        #expect(ec2.calls("RunInstances").count == 1, "a timed-out RunInstances is not sent again")
        #expect(ec2.instances.count == 1)
        #expect(instance.id == ec2.instances.first?.id)
        // The reconcile loop asks again on its next pass: the tag finds the machine before any RunInstances.
        _ = try await provider.create(request())
        #expect(ec2.calls("RunInstances").count == 1)
        #expect(ec2.instances.count == 1)
    }

    @Test func aCreateThatTimedOutWithoutAMachineIsATimeoutAndTheNextTryMakesOne() async throws {
        let ec2 = FaultyEC2 { call, n in call.action == "RunInstances" && n == 1 ? .stall : .normal }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let provider = provider(ec2, timeout: 0.5)
        let error = await #expect(throws: ProviderError.self) { try await provider.create(request()) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("no instance is tagged for n-00000000000000a1") == true, "\(String(describing: error))")
        _ = try await provider.create(request())
        #expect(ec2.instances.count == 1)
    }

    @Test func throttlingBacksOffWithJitterThenSucceeds() async throws {
        let ec2 = FaultyEC2 { call, n in
            call.action == "DescribeInstances" && n <= 3 ? .error(status: 503, code: "RequestLimitExceeded", message: "Request limit exceeded.") : .normal
        }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let sleeps = Sleeps()
        let listed = try await provider(ec2, sleeps: sleeps).list(tags: [InstanceTag.group: "web"])
        #expect(listed.isEmpty)
        #expect(ec2.calls("DescribeInstances").count == 4)
        let delays = sleeps.all
        #expect(delays.count == 3)
        // Full jitter under a ceiling that doubles: 0.25, 0.5, 1.
        for (i, delay) in delays.enumerated() { #expect(delay >= 0 && delay <= 0.25 * Double(1 << i), "wait \(i): \(delay)") }
    }

    @Test func serverErrorsAreRetriedUntilTheAttemptsRunOut() async throws {
        let ec2 = FaultyEC2 { _, _ in .error(status: 500, code: "InternalError", message: "An internal error has occurred") }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let sleeps = Sleeps()
        let error = await #expect(throws: ProviderError.self) { try await provider(ec2, sleeps: sleeps).destroy(instanceID: "i-1", reason: "test") }
        #expect(error?.code == .destroyFailed)
        #expect(error?.message.contains("InternalError (HTTP 500)") == true && error?.message.contains("after 6 attempts") == true, "\(String(describing: error))")
        #expect(ec2.calls("TerminateInstances").count == 6)
        #expect(sleeps.all.count == 5)
    }

    @Test func aRefusedSignatureIsAnAuthenticationErrorAndNotRetried() async throws {
        let ec2 = FaultyEC2 { _, _ in .error(status: 401, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials") }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let error = await #expect(throws: ProviderError.self) { try await provider(ec2).list(tags: [:]) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("authentication failed") == true && error?.message.contains("AuthFailure") == true)
        #expect(error?.message.contains("test-secret") == false, "the secret never appears in an error")
        #expect(ec2.calls.count == 1)
    }

    @Test(arguments: [(200, "this is not XML"), (200, "<html><body>proxy says hi"), (404, "")])
    func garbageAnswersAreRefusedClearly(_ status: Int, _ body: String) async throws {
        let ec2 = FaultyEC2 { _, _ in .raw(status: status, body: body) }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        let error = await #expect(throws: ProviderError.self) { try await provider(ec2).list(tags: [:]) }
        #expect(error?.code == .listFailed)
        #expect(error?.message.contains("malformed_response") == true, "\(String(describing: error))")
        #expect(ec2.calls.count == 1, "a client error is not retried")
    }

    @Test func destroyingAnInstanceThatIsGoneSucceeds() async throws {
        let ec2 = FaultyEC2 { _, _ in .error(status: 400, code: "InvalidInstanceID.NotFound", message: "The instance ID 'i-9' does not exist") }
        try await ec2.start()
        defer { Task { await ec2.stop() } }
        try await provider(ec2).destroy(instanceID: "i-9", reason: "test")
    }

    @Test func specsEC2CannotHonourAreRefused() throws {
        let ec2 = FaultyEC2()
        let p = provider(ec2)
        var spec = request().spec
        spec.machine.image = "debian-12"
        #expect(throws: ProviderError.self) { try p.validate(spec) }
        spec.machine.image = "ami-1"
        spec.machine.type = nil
        #expect(throws: ProviderError.self) { try p.validate(spec) }
        spec.machine.type = "t3.micro"
        spec.machine.region = "eu-west-1"
        #expect(throws: ProviderError.self) { try p.validate(spec) }
        spec.machine.region = nil
        spec.machine.tags = ["aws:reserved": "x"]
        #expect(throws: ProviderError.self) { try p.validate(spec) }
        spec.machine.tags = ["team": "web"]
        try p.validate(spec)
        spec.machine.subnet = "10.0.0.0/24"
        #expect(throws: ProviderError.self) { try p.validate(spec) }
        spec.machine.subnet = "subnet-1"
        spec.machine.securityGroups = ["web"]
        #expect(throws: ProviderError.self) { try p.validate(spec) }
    }

    @Test func credentialsComeFromTheEnvironmentThenTheFile() throws {
        let env = try AWSCredentialSources.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKID1", "AWS_SECRET_ACCESS_KEY": "s1", "HOME": "/nonexistent"])
        #expect(env == AWSCredentials(accessKeyID: "AKID1", secretAccessKey: "s1"))
        let file = """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = sdefault
            # a comment
            [ops]
            aws_access_key_id=AKIDOPS
            aws_secret_access_key=sops
            aws_session_token = tok
            """
        #expect(try AWSCredentialSources.fromFile(file, profile: "ops", path: "f") == AWSCredentials(accessKeyID: "AKIDOPS", secretAccessKey: "sops", sessionToken: "tok"))
        #expect(try AWSCredentialSources.fromFile(file, profile: "default", path: "f").accessKeyID == "AKIDDEFAULT")
        #expect(throws: AWSCredentialSources.Missing.self) { try AWSCredentialSources.fromFile(file, profile: "nosuch", path: "f") }
        #expect(throws: AWSCredentialSources.Missing.self) { try AWSCredentialSources.resolve(environment: ["HOME": "/nonexistent"]) }
    }
}
