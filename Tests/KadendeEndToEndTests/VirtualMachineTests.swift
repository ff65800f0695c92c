import Foundation
import KadendeAPI
import KadendePKI
import KadendeWire
import Testing
import X509
#if canImport(Glibc)
import Glibc
#endif

/// Real nodes: QEMU virtual machines booting the base image, where the real cloud-init installs the packaged agent
/// from the coordinator's artifact listener. `scripts/test vm` builds (or reuses) the image and the packaged agent
/// and sets KADENDE_VM_IMAGE and KADENDE_AGENT_ARTIFACTS; without them these tests skip, unless
/// KADENDE_REQUIRE_VM=1 makes that a failure. Two VMs at a time: each takes a core.
@Suite(.serialized) struct VirtualMachineTests {
    struct Environment {
        var image: String
        var artifacts: String

        static func current() -> Environment? {
            let env = ProcessInfo.processInfo.environment
            guard let image = env["KADENDE_VM_IMAGE"], let artifacts = env["KADENDE_AGENT_ARTIFACTS"] else {
                if env["KADENDE_REQUIRE_VM"] == "1" { Issue.record("KADENDE_VM_IMAGE and KADENDE_AGENT_ARTIFACTS are not set") }
                return nil
            }
            return Environment(image: image, artifacts: artifacts)
        }
    }

    /// Booting and cloud-init under software emulation take minutes; this bounds a broken run only.
    static let bootLimit: Duration = .seconds(15 * 60)

    static func spec(name: String) -> String {
        """
        name: \(name)
        provider: qemu
        size: 2
        health:
          heartbeatInterval: 2s
          # Longer than a reboot under emulation: a node that reboots is expected back, not replaced. A VM whose
          # QEMU process is gone is convicted at once from the provider's view, whatever this says.
          heartbeatTimeout: 5m
          startupTimeout: 15m
        bootstrap:
          files:
            - path: /etc/motd
              content: "Managed by Kadende\\n"
          commands:
            - echo bootstrap-ran > /var/tmp/kadende-bootstrap
        """
    }

    @Test func twoVirtualMachinesEnrolAKilledOneIsReplacedARebootedOneComesBack() async throws {
        guard let env = Environment.current() else { return }
        let dir = try Paths.temporaryDirectory("vm")
        let server = ServerProcess(dataDirectory: dir)
        // Port 9 (discard) forwarded for probes: QEMU must listen for it on 127.0.0.1.
        server.extraArguments = ["--qemu-image", env.image, "--agent-artifacts", env.artifacts, "--qemu-forward", "9"]
        defer { server.cleanUp() }
        try await server.start()
        // Refused before any machine exists: a malformed bootstrap, an oversized user-data, more VMs than the host runs.
        let refusals = [
            ("bad-bootstrap", Self.spec(name: "bad") + "\n  agent: {url: 'https://x/$(reboot)', sha256: nothex}\n", "invalid_bootstrap"),
            ("oversized", Self.spec(name: "big").replacingOccurrences(of: "Managed by Kadende", with: String(repeating: "x", count: 17_000)),
             "user_data_too_large"),
            ("too-many", Self.spec(name: "many").replacingOccurrences(of: "size: 2", with: "size: {desired: 2, max: 5}"), "invalid_spec"),
        ]
        for (label, yaml, code) in refusals {
            let file = "\(dir)/\(label).yaml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let error = #expect(throws: CLIError.self) { try server.cli(["group", "apply", "--file", file]) }
            #expect(error?.message.contains(code) == true, "\(label): \(String(describing: error))")
        }
        #expect(server.virtualMachines().isEmpty && (try? FileManager.default.contentsOfDirectory(atPath: dir + "/qemu/vms"))?.isEmpty != false)
        #expect(try server.json(["group", "list"], as: [APIGroup].self).isEmpty)

        let specFile = dir + "/vm.yaml"
        try Self.spec(name: "vm").write(toFile: specFile, atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "--file", specFile])

        var healthy: [APINode] = []
        try await eventually("2 virtual machines healthy", limit: Self.bootLimit) {
            healthy = try server.nodes(group: "vm").filter { $0.state == .healthy }
            return healthy.count == 2
        }

        for node in healthy {
            let record = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/qemu/vms/\(try #require(node.instanceID))/instance.json"))
            let forwards = try #require((try JSONSerialization.jsonObject(with: record) as? [String: Any])?["forwards"] as? [[String: Int]])
            let hostPort = try #require(forwards.first { $0["guest"] == 9 }?["host"])
            #expect(Self.accepts(port: hostPort), "nothing listens on 127.0.0.1:\(hostPort) for \(node.id)'s port 9")
        }

        // Inside each VM: cloud-init done, the agent a running systemd service, the token nowhere it should not be.
        var tokens: [String: String] = [:]
        for node in healthy {
            let instance = try #require(node.instanceID)
            let guest = GuestAgent(socketPath: "\(dir)/qemu/vms/\(instance)/qga.sock")
            try await eventually("guest agent of \(instance) answers", limit: Self.bootLimit) { await guest.isUp() }
            let status = try await guest.run("cloud-init status --wait --long")
            #expect(status.output.contains("status: done") && status.exitCode == 0, "\(node.id): \(status.output)")
            let unit = try await guest.run("systemctl is-active kadende-agent.service; systemctl show -p MainPID --value kadende-agent.service; cat /var/tmp/kadende-bootstrap")
            let lines = unit.output.split(separator: "\n").map(String.init)
            #expect(lines.first == "active", "\(node.id): \(unit.output)")
            #expect(lines.count >= 3 && lines[1] != "0" && lines[2] == "bootstrap-ran", "\(node.id): \(unit.output)")

            let token = try #require(try Self.token(inUserDataOf: "\(dir)/qemu/vms/\(instance)/user-data"))
            tokens[node.id] = token
            // The search must be able to succeed: the root-only config holds the token.
            let control = try await guest.run("stat -c '%a %U' /etc/kadende/agent.yaml; grep -c '\(token)' /etc/kadende/agent.yaml")
            #expect(control.output == "600 root\n1\n", "\(node.id): \(control.output)")
            let logs = try await guest.run("ls /var/log/cloud-init.log /var/log/cloud-init-output.log >/dev/null && ! grep -lF '\(token)' /var/log/cloud-init*.log")
            #expect(logs.exitCode == 0, "\(node.id): token in cloud-init's logs: \(logs.output)")
            let readable = try await guest.run(
                "find / -xdev \\( -path /proc -o -path /sys \\) -prune -o -type f -perm -o=r -size -8M -print0 | xargs -0 grep -lF '\(token)' || true")
            #expect(readable.output.isEmpty, "\(node.id): token in world-readable files: \(readable.output)")
        }

        // A push writes /etc and a pushed command installs a package, on the real machine through the agent's real
        // unit: ProtectSystem=full once made /etc and /usr read-only for the agent and every command it ran. The
        // package is built on the node (it has no network) and installed with dpkg, maintainer script and all.
        try await server.pushWatching(Self.packagePush, group: "vm", directory: dir)
        for node in healthy {
            let guest = GuestAgent(socketPath: "\(dir)/qemu/vms/\(try #require(node.instanceID))/qga.sock")
            let check = try await guest.run("""
                cat /etc/kadende-test/site.conf; dpkg-query -W -f='${Status}\\n' kadende-hello; /usr/local/bin/kadende-hello; \
                cat /var/lib/kadende-hello/installed; systemctl show -p ProtectSystem --value kadende-agent.service
                """)
            #expect(check.output == "pushed to /etc\ninstall ok installed\nhello from a package\npostinst ran\nno\n", "\(node.id): \(check.output)")
        }

        // The token is spent: a second enrolment with it fails.
        let pin = try CAPin(certificate: Certificate(pemEncoded: String(contentsOfFile: dir + "/pki/ca.pem", encoding: .utf8)))
        let raw = RawAgent(port: server.agentPort, pin: pin)
        for (nodeID, token) in tokens {
            await #expect(throws: (any Error).self, "token of \(nodeID) enrolled twice") { _ = try await raw.enrol(nodeID: nodeID, token: token) }
        }

        // Kill one VM's QEMU: convicted, destroyed, replaced by a new VM that enrols too.
        let victim = healthy[0]
        let survivor = healthy[1]
        let victimInstance = try #require(victim.instanceID)
        let qemuPID = try #require(server.virtualMachines()[victimInstance])
        kill(qemuPID, SIGKILL)
        var replacement: APINode?
        try await eventually("a new VM replaces \(victim.id)", limit: Self.bootLimit) {
            let nodes = try server.nodes(group: "vm")
            replacement = nodes.first { $0.id != victim.id && $0.id != survivor.id && $0.state == .healthy }
            return replacement != nil && !nodes.contains { $0.id == victim.id && $0.state.isActive }
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/qemu/vms/\(victimInstance)"), "the killed VM's overlay is deleted")
        let events = try server.events(group: "vm")
        #expect(events.contains { $0.nodeID == victim.id && $0.reason.contains("provider reports the instance terminated") })
        #expect(events.contains { $0.nodeID == replacement?.id && $0.reason.contains("agent enrolled with its token") })

        // Reboot the survivor: it comes back with its certificate, without enrolling again, and is not replaced.
        let survivorInstance = try #require(survivor.instanceID)
        let guest = GuestAgent(socketPath: "\(dir)/qemu/vms/\(survivorInstance)/qga.sock")
        let bootBefore = try await guest.run("cat /proc/sys/kernel/random/boot_id").output
        let lastEvent = try server.events(group: "vm").last?.seq ?? 0
        _ = try? await guest.run("systemctl reboot", limit: .seconds(30))
        try await eventually("\(survivor.id) rebooted", limit: Self.bootLimit) {
            guard await guest.isUp(), let now = try? await guest.run("cat /proc/sys/kernel/random/boot_id", limit: .seconds(30)) else { return false }
            return now.exitCode == 0 && !now.output.isEmpty && now.output != bootBefore
        }
        try await eventually("\(survivor.id) reconnected after its reboot", limit: Self.bootLimit) {
            try server.events(group: "vm", after: lastEvent).contains { $0.nodeID == survivor.id && $0.kind == .nodeConnected }
        }
        // Silent while it reboots, it may be shown suspect; it must come back healthy, never be convicted or replaced.
        try await eventually("\(survivor.id) healthy after its reboot", limit: .seconds(120)) {
            try server.nodes(group: "vm").first { $0.id == survivor.id }?.state == .healthy
        }
        let after = try server.events(group: "vm", after: lastEvent).filter { $0.nodeID == survivor.id }
        #expect(!after.contains { $0.kind == .nodeEnrolled || $0.reason.contains("enrolled") }, "enrolled again: \(after)")
        #expect(!after.contains { $0.reason.contains("unhealthy") || $0.reason.contains("terminat") }, "convicted across its reboot: \(after)")
        #expect(try server.nodes(group: "vm").filter { $0.state.isActive }.count == 2)

        try server.cli(["group", "delete", "vm"])
        try await eventually("the group's VMs are gone") { server.virtualMachines().isEmpty }
    }

    /// A revision that writes under /etc and installs a Debian package built from pushed files.
    static let packagePush = """
        message: a file in /etc and a package
        rollout: {strategy: all-at-once, bake: 1s}
        files:
          - path: /etc/kadende-test/site.conf
            content: "pushed to /etc\\n"
          - path: /opt/kadende-test/pkg/DEBIAN/control
            content: "Package: kadende-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Kadende <ops@example.com>\\nDescription: a package a push installs\\n"
          - path: /opt/kadende-test/pkg/DEBIAN/postinst
            content: "#!/bin/sh\\nset -e\\nmkdir -p /var/lib/kadende-hello\\necho postinst ran > /var/lib/kadende-hello/installed\\n"
            mode: "0755"
          - path: /opt/kadende-test/pkg/usr/local/bin/kadende-hello
            content: "#!/bin/sh\\necho hello from a package\\n"
            mode: "0755"
        commands:
          - name: install
            command: [/bin/sh, -c, 'dpkg-deb --build --root-owner-group /opt/kadende-test/pkg /opt/kadende-test/hello.deb && dpkg -i /opt/kadende-test/hello.deb']
            timeout: 5m
        """

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The enrolment token as user-data carried it (the host's copy of the seed, root-only).
    static func token(inUserDataOf path: String) throws -> String? {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let range = text.range(of: "kdt_[0-9a-f]{64}", options: .regularExpression) else { return nil }
        return String(text[range])
    }
}
