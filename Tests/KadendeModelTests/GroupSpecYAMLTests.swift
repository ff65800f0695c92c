import Foundation
import KadendeModel
import Testing

@Suite struct GroupSpecYAMLTests {
    static let valid = """
        name: web
        provider: process
        size:
          desired: 3
          min: 1
          max: 10
        machine:
          image: debian-12
          tags:
            team: web
        health:
          heartbeatInterval: 500ms
          heartbeatTimeout: 3s
          startupTimeout: 10m
        bootstrap:
          packages: [nginx]
          files:
            - path: /etc/motd
              content: hello
          commands: ["true"]
        """

    @Test func decodesEveryField() throws {
        let spec = try GroupSpec(yaml: Self.valid)
        #expect(spec.name == "web")
        #expect(spec.cluster == "default")
        #expect(spec.size == .init(desired: 3, min: 1, max: 10))
        #expect(spec.machine.tags == ["team": "web"])
        #expect(spec.health.heartbeatInterval == Seconds(0.5))
        #expect(spec.health.heartbeatTimeout == Seconds(3))
        #expect(spec.health.startupTimeout == Seconds(600))
        #expect(spec.bootstrap.files == [.init(path: "/etc/motd", content: "hello", mode: "0644")])
    }

    @Test func everyExampleInTheRepositoryDecodes() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: examples.appendingPathComponent(file), encoding: .utf8)
            _ = try GroupSpec(yaml: text)
        }
    }

    @Test func unknownKeyNamesPathAndLine() {
        let yaml = Self.valid.replacingOccurrences(of: "  heartbeatTimeout: 3s", with: "  heartbeatTimout: 3s")
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: yaml) }
        #expect(error?.code == .unknownKey)
        #expect(error?.path == "health.heartbeatTimout")
        #expect(error?.line == 13)
    }

    @Test func unknownTopLevelKeyIsRefused() {
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: Self.valid + "\nreplicas: 3\n") }
        #expect(error?.code == .unknownKey)
        #expect(error?.path == "replicas")
    }

    @Test func sizeOutsideMinMaxIsRefused() {
        let yaml = Self.valid.replacingOccurrences(of: "desired: 3", with: "desired: 11")
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: yaml) }
        #expect(error?.code == .badValue)
        #expect(error?.path == "size.desired")
    }

    @Test func badValueNamesPathAndLine() {
        let yaml = Self.valid.replacingOccurrences(of: "min: 1", with: "min: one")
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: yaml) }
        #expect(error?.code == .badValue)
        #expect(error?.path == "size.min")
        #expect(error?.line == 5)
    }

    @Test func malformedYAMLSaysWhere() {
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: "name: web\nsize: [1, 2\n") }
        #expect(error?.code == .malformedYAML)
        #expect(error?.line != nil)
    }

    @Test func missingRequiredKey() {
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: "name: web\nsize: 2\n") }
        #expect(error?.code == .missingKey)
        #expect(error?.path == "provider")
    }

    @Test func timeoutMustExceedInterval() {
        let yaml = Self.valid.replacingOccurrences(of: "heartbeatTimeout: 3s", with: "heartbeatTimeout: 400ms")
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: yaml) }
        #expect(error?.path == "health.heartbeatTimeout")
    }

    @Test func relativeOrEscapingBootstrapPathsAreRefused() {
        let yaml = Self.valid.replacingOccurrences(of: "path: /etc/motd", with: "path: /etc/../../shadow")
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: yaml) }
        #expect(error?.path == "bootstrap.files[0].path")
    }

    @Test func sizeShorthand() throws {
        let spec = try GroupSpec(yaml: "name: db\nprovider: process\nsize: 2\n")
        #expect(spec.size == .init(desired: 2, min: 2, max: 2))
    }

    @Test(arguments: [("250ms", 0.25), ("3s", 3.0), ("10m", 600.0), ("1h", 3600.0), ("2", 2.0)])
    func durations(text: String, seconds: Double) {
        #expect(Seconds(parsing: text)?.value == seconds)
    }

    @Test(arguments: ["", "s", "-1s", "ten seconds", "1d"])
    func badDurations(text: String) {
        #expect(Seconds(parsing: text) == nil)
    }
}
