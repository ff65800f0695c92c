import Foundation
import KadendeModel
import KadendeWire
import Testing

/// Push files: what they mean, and the errors that refuse them with their key path.
struct ConfigPushYAMLTests {
    @Test func aFullFileDecodes() throws {
        let push = try ConfigPush(yaml: """
            group: web
            message: raise workers
            target: {selector: "role=front,zone!=b,canary,!draining", nodes: [n-0123456789abcdef]}
            rollout: {strategy: rolling, batch: 30%, pause: 5s, bake: 1m, maxFailures: 1, autoRollback: false}
            files:
              - {path: /etc/app.conf, content: "a", mode: "0600", owner: root, group: root}
              - {path: /etc/host.conf, template: "{{ node.hostname }}"}
            environment: {WORKERS: "8"}
            commands:
              - {name: migrate, command: [/usr/bin/app, migrate], timeout: 2m, user: app}
            services:
              - restart: nginx
              - {reload: haproxy, timeout: 10s}
              - {name: app, command: "kill -HUP 1", shell: true}
            probes:
              - {name: web, http: {url: "http://127.0.0.1:80/"}}
            """)
        #expect(push.group == "web")
        #expect(push.target.selector?.matches(["role": "front", "zone": "a", "canary": ""]) == true)
        #expect(push.target.selector?.matches(["role": "front", "zone": "a", "canary": "", "draining": "yes"]) == false)
        #expect(push.rollout.batch == .percent(30) && push.rollout.maxUnavailable == .percent(30), "maxUnavailable follows the batch")
        #expect(push.rollout.batch.resolve(of: 10) == 3)
        #expect(push.rollout.bake.value == 60 && !push.rollout.autoRollback)
        #expect(push.content.files[0].mode == 0o600 && push.content.files[1].template)
        #expect(push.content.commands[0].timeout == 120 && push.content.commands[0].user == "app")
        #expect(push.content.services.map(\.argv) == [["systemctl", "restart", "--", "nginx"], ["systemctl", "reload", "--", "haproxy"], ["/bin/sh", "-c", "kill -HUP 1"]])
        #expect(push.content.probes?.first?.name == "web")
    }

    @Test func everyRevisionExampleDecodes() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/config").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for file in files {
            _ = try ConfigPush(yaml: String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
        }
    }

    @Test(arguments: [
        ("files:\n  - {path: etc/x, content: a}\n", "files[0].path", "must be an absolute path"),
        ("files:\n  - {path: /etc/x, content: a, template: b}\n", "files[0]", "exactly one of content, template"),
        ("files:\n  - {path: /etc/x, content: a, mode: \"999\"}\n", "files[0].mode", "octal mode"),
        ("files:\n  - {path: /etc/x, content: a}\n  - {path: /etc/x, content: b}\n", "files[1].path", "given twice"),
        ("files:\n  - {path: /etc/x, template: \"{{ node.id }\"}\n", "files[0].template", "never closed"),
        ("environment: {\"1BAD\": x}\n", "environment.1BAD", "variable names"),
        ("commands:\n  - {name: a, command: []}\n", "commands[0].command", "must name a command"),
        ("commands:\n  - {name: a, command: [x]}\n  - {name: a, command: [y]}\n", "commands[1].name", "given twice"),
        ("services:\n  - {restart: nginx, reload: nginx}\n", "services[0]", "exactly one of restart, reload, command"),
        ("rollout: {batch: 0}\n", "rollout.batch", "at least 1"),
        ("rollout: {strategy: yolo}\n", "rollout.strategy", "rolling or all-at-once"),
        ("target: {selector: \"a=b=c\"}\n", "target.selector", "not a selector term"),
        ("target: {nodes: [web-1]}\n", "target.nodes[0]", "not a node id"),
        ("probes:\n  - {name: p, tcp: {port: 99999}}\n", "probes[0].tcp.port", "is not a port"),
        ("fiels: []\n", "fiels", "unknown key"),
    ])
    func badFilesAreRefusedWithTheirPath(yaml: String, path: String, message: String) {
        #expect {
            _ = try ConfigPush(yaml: yaml)
        } throws: { error in
            guard let error = error as? SpecError else { return false }
            return error.path == path && error.message.contains(message)
        }
    }
}
