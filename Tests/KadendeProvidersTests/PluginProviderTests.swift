import Foundation
import KadendeModel
@testable import KadendeProviders
import KadendeWire
import Logging
import Testing

/// Provider plugins as real executables: the example plugin in `examples/plugins`, and small scripts written here
/// that misbehave on purpose (hang, print garbage, speak another version, fail with and without an error object).
@Suite struct PluginProviderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let example = root.appendingPathComponent("examples/plugins/kadende-local-plugin").path

    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-plugin-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func script(_ name: String, _ body: String) throws -> String {
        let path = dir + "/" + name
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func plugin(_ executable: String, timeout: Double = 30) -> PluginProvider {
        var timeouts = PluginProvider.Timeouts()
        timeouts.validate = timeout
        timeouts.create = timeout
        timeouts.list = timeout
        timeouts.destroy = timeout
        timeouts.describe = timeout
        return PluginProvider(name: "test", executable: executable, timeouts: timeouts, logger: Logger(label: "test"))
    }

    static func request(_ nodeID: String = "n-00000000000000b1") -> CreateRequest {
        CreateRequest(nodeID: nodeID, spec: GroupSpec(name: "web", provider: "test", size: .init(desired: 1, min: 0, max: 1)),
                      tags: [InstanceTag.cluster: "default", InstanceTag.group: "web", InstanceTag.node: nodeID],
                      agent: AgentConfig(nodeID: nodeID, endpoints: ["127.0.0.1:1"], caPin: "sha256:00", token: "kdt_1"),
                      userData: .success("#cloud-config\n"))
    }

    @Test func aPluginThatHangsIsKilledAtItsTimeout() async throws {
        let hang = try script("hang", "echo 'about to hang' >&2; sleep 600")
        let error = await #expect(throws: ProviderError.self) { try await plugin(hang, timeout: 1).list(tags: [:]) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("no answer within its timeout") == true && error?.message.contains("about to hang") == true,
                "stderr travels with the error: \(String(describing: error))")
    }

    @Test(arguments: [
        ("echo 'hello, I am not JSON'", "is not the plugin protocol's JSON"),
        ("echo '{\"instances\": []}'", "missing version"),
        ("echo '{\"version\": 7, \"instances\": []}'", "protocol version 7"),
        ("echo '{\"version\": 1}'", "the answer has no instances"),
        ("echo '{\"version\": 1, \"instances\": [{\"id\": \"i-1\", \"tags\": {}, \"status\": \"sleepy\"}]}'", "status \"sleepy\""),
        ("head -c 5000000 /dev/zero | tr '\\\\0' x", "over 4 MiB"),
    ])
    func garbageIsRefusedWithAClearError(_ body: String, _ expected: String) async throws {
        let garbage = try script("garbage", "cat >/dev/null; " + body)
        let error = await #expect(throws: ProviderError.self) { try await plugin(garbage).list(tags: [:]) }
        #expect(error?.code == .badAnswer)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func aPluginsOwnErrorKeepsItsCodeMessageAndStderr() async throws {
        let failing = try script("failing", """
            cat >/dev/null
            echo 'quota exceeded in zone b' >&2
            echo '{"version": 1, "error": {"code": "create_failed", "message": "no capacity"}}'
            exit 1
            """)
        let error = await #expect(throws: ProviderError.self) { try await plugin(failing).create(Self.request()) }
        #expect(error?.code == .createFailed)
        #expect(error?.message == "create: create_failed: no capacity; stderr: quota exceeded in zone b")
    }

    @Test func aPluginThatDiesWithoutAnAnswerSaysHow() async throws {
        let dying = try script("dying", "cat >/dev/null; echo 'Traceback: boom' >&2; exit 3")
        let error = await #expect(throws: ProviderError.self) { try await plugin(dying).destroy(instanceID: "x", reason: "test") }
        #expect(error?.code == .destroyFailed)
        #expect(error?.message.contains("exit 3") == true && error?.message.contains("Traceback: boom") == true, "\(String(describing: error))")
    }

    @Test func aCreatedInstanceMustCarryItsNodeTag() async throws {
        let untagged = try script("untagged", """
            cat >/dev/null
            echo '{"version": 1, "instance": {"id": "i-1", "tags": {}, "status": "pending"}}'
            """)
        let error = await #expect(throws: ProviderError.self) { try await plugin(untagged).create(Self.request()) }
        #expect(error?.code == .badAnswer)
        #expect(error?.message.contains("does not carry the tag kadende.node=n-00000000000000b1") == true)
    }

    @Test func aMissingPluginIsAClearError() async throws {
        let error = await #expect(throws: ProviderError.self) { try await plugin(dir + "/nope").list(tags: [:]) }
        #expect(error?.message.contains("cannot run plugin") == true, "\(String(describing: error))")
    }

    @Test func theRequestIsVersionedJSONOnStdin() async throws {
        let recorder = try script("recorder", """
            cat > "\(dir)/request-$1.json"
            echo '{"version": 1, "instance": {"id": "i-7", "tags": {"kadende.node": "n-00000000000000b1"}, "status": "running", "launchedAt": "2026-11-26T10:00:00Z"}}'
            """)
        let instance = try await plugin(recorder).create(Self.request())
        #expect(instance.id == "i-7" && instance.status == .running)
        let sent = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/request-create.json"))) as? [String: Any]
        #expect(sent?["version"] as? Int == 1)
        #expect(sent?["nodeID"] as? String == "n-00000000000000b1")
        #expect(sent?["userData"] as? String == "#cloud-config\n")
        #expect((sent?["tags"] as? [String: String])?[InstanceTag.group] == "web")
        #expect((sent?["spec"] as? [String: Any])?["name"] as? String == "web")
    }

    @Test func theExamplePluginValidatesAndKeepsNothingItDidNotMake() async throws {
        setenv("KADENDE_LOCAL_PLUGIN_DIR", dir + "/state", 1)
        let example = plugin(Self.example)
        var spec = Self.request().spec
        try await example.validate(spec)
        spec.machine.image = "ami-123"
        let refused = await #expect(throws: ProviderError.self) { try await example.validate(spec) }
        #expect(refused?.code == .invalidSpec && refused?.message.contains("machine.image must be absent") == true, "\(String(describing: refused))")
        #expect(try await example.list(tags: [:]).isEmpty)
        #expect(try await example.describe(instanceID: "local-x") == nil)
        try await example.destroy(instanceID: "local-x", reason: "nothing there")
    }
}
