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
          subnet: subnet-1
          securityGroups: [sg-1, sg-2]
          profile: node
          keyPair: ops
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
        #expect(spec.machine.subnet == "subnet-1" && spec.machine.securityGroups == ["sg-1", "sg-2"])
        #expect(spec.machine.profile == "node" && spec.machine.keyPair == "ops")
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
        #expect(error?.line == 17)
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

    @Test(arguments: [("250ms", 0.25), ("3s", 3.0), ("10m", 600.0), ("1h", 3600.0), ("2", 2.0), ("90d", 7_776_000.0)])
    func durations(text: String, seconds: Double) {
        #expect(Seconds(parsing: text)?.value == seconds)
    }

    @Test(arguments: ["", "s", "-1s", "ten seconds", "1w"])
    func badDurations(text: String) {
        #expect(Seconds(parsing: text) == nil)
    }
}

@Suite struct HealthSpecYAMLTests {
    static let base = """
        name: web
        provider: process
        size: 2
        """

    @Test func probesExternalProbesRemediationAndHooksDecode() throws {
        let spec = try GroupSpec(yaml: Self.base + """

            health:
              probes:
                - name: api
                  http: {url: "http://127.0.0.1:8080/healthz", status: 200}
                  interval: 2s
                  timeout: 1s
                  rise: 2
                  fall: 4
                - name: worker
                  exec: {command: [/usr/local/bin/check, --quick], env: {MODE: fast}, user: nobody}
                - {name: docker, systemd: {unit: docker.service}}
                - {name: beat, file: {path: /var/run/beat, maxAge: 30s}}
                - {name: redis, tcp: {port: 6379}}
              external:
                - {name: http, http: {port: 8080, path: /ready}}
                - {name: ssh, tcp: {port: 22}, interval: 5s, fall: 3}
            remediation:
              maxUnhealthy: 25%
              budget: {replacements: 5, per: 1h}
              crashLoop: {minUptime: 2m, backoff: 30s, maxBackoff: 30m}
              maxSurge: 1
            hooks:
              preTerminate: {on: node, command: [docker, swarm, leave], timeout: 2m}
            """)
        #expect(spec.health.probes.map(\.name) == ["api", "worker", "docker", "beat", "redis"])
        #expect(spec.health.probes[0].check == .http(url: "http://127.0.0.1:8080/healthz", status: 200))
        #expect(spec.health.probes[0].rise == 2 && spec.health.probes[0].fall == 4 && spec.health.probes[0].interval == 2)
        #expect(spec.health.probes[1].check == .exec(command: ["/usr/local/bin/check", "--quick"], environment: ["MODE": "fast"], user: "nobody", shell: false))
        #expect(spec.health.probes[3].check == .file(path: "/var/run/beat", maxAge: 30))
        #expect(spec.health.probes[4].check == .tcp(host: "127.0.0.1", port: 6379))
        #expect(spec.health.external[0].check == .http(port: 8080, path: "/ready", status: nil))
        #expect(spec.remediation == GroupSpec.Remediation(maxUnhealthyPercent: 25, budget: 5, budgetWindow: Seconds(3600), minUptime: Seconds(120),
                                                         backoff: Seconds(30), maxBackoff: Seconds(1800), maxSurge: 1))
        #expect(spec.hooks.preTerminate == GroupSpec.Hook(on: .node, command: ["docker", "swarm", "leave"], timeout: Seconds(120)))
    }

    /// Each bad probe or rule is refused with the path that names it.
    @Test(arguments: [
        ("health: {probes: [{name: a}]}", "health.probes[0]", "exactly one of"),
        ("health: {probes: [{name: a, tcp: {port: 1}, http: {url: 'http://x/'}}]}", "health.probes[0]", "exactly one of"),
        ("health: {probes: [{name: a, tcp: {port: 70000}}]}", "health.probes[0].tcp.port", "not a port"),
        ("health: {probes: [{name: a, tcp: {port: 1}}, {name: a, tcp: {port: 2}}]}", "health.probes[1].name", "used twice"),
        ("health: {probes: [{name: a, http: {url: 'https://x/'}}]}", "health.probes[0].http.url", "http:// URL"),
        ("health: {probes: [{name: a, exec: {command: []}}]}", "health.probes[0].exec.command", "must name a command"),
        ("health: {probes: [{name: a, tcp: {port: 1}, interval: 10ms}]}", "health.probes[0].interval", "at least 100ms"),
        ("health: {probes: [{name: a, tcp: {port: 1}, fall: 0}]}", "health.probes[0].fall", "1 to 100"),
        ("health: {probes: [{name: a, tcp: {port: 1}, retries: 3}]}", "health.probes[0].retries", "unknown key"),
        ("health: {external: [{name: e, tcp: {port: 1}, http: {port: 2}}]}", "health.external[0]", "exactly one of tcp, http"),
        ("health: {phiThreshold: 0.5}", "health.phiThreshold", "between 1 and 30"),
        ("remediation: {maxUnhealthy: 40}", "remediation.maxUnhealthy", "percentage"),
        ("remediation: {maxUnhealthy: 0%}", "remediation.maxUnhealthy", "between 1% and 100%"),
        ("remediation: {crashLoop: {backoff: 1m, maxBackoff: 10s}}", "remediation.crashLoop.maxBackoff", "below backoff"),
        ("hooks: {preTerminate: {on: somewhere, command: [x]}}", "hooks.preTerminate.on", "node or coordinator"),
        ("hooks: {postReady: {on: node, command: []}}", "hooks.postReady.command", "must name a command"),
    ])
    func badHealthSpecsAreRefusedWithTheirPath(yaml: String, path: String, message: String) {
        let error = #expect(throws: SpecError.self) { try GroupSpec(yaml: Self.base + "\n" + yaml + "\n") }
        #expect(error?.path == path, "\(String(describing: error))")
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func theDrainExamplesDeclareTheirHooks() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized
        for file in ["swarm-workers.yaml", "kubernetes-workers.yaml"] {
            let spec = try GroupSpec(yaml: String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
            #expect(spec.hooks.preTerminate?.on == .coordinator, "\(file)")
            // A coordinator hook is a name the coordinator's owner maps to a script: the example ships the script.
            for hook in [spec.hooks.preTerminate, spec.hooks.postReady].compactMap({ $0 }) where hook.on == .coordinator {
                let script = dir.appendingPathComponent("hooks/\(hook.run ?? "")").path
                #expect(FileManager.default.isExecutableFile(atPath: script), "\(file): \(script)")
            }
            #expect(!spec.health.probes.isEmpty, "\(file)")
        }
    }
}
