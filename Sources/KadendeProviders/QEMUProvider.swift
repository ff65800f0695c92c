import KadendeModel
import KadendeSupport
import Logging
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.FileManager
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder
#if canImport(Glibc)
import Glibc
#endif

/// Nodes that are QEMU virtual machines on this host, each booting the base image through a copy-on-write overlay
/// with its user-data on a NoCloud seed, so the real cloud-init installs the real agent. A VM's directory is its
/// state: `instance.json` (tags, written before QEMU starts) and `qemu.pid` (written by QEMU itself), so `list`
/// finds every VM after a coordinator crash, even one started a moment before it.
///
/// With user-mode networking the guest reaches the host at 10.0.2.2 and every node arrives from 127.0.0.1: a
/// node's identity comes from its certificate only.
public actor QEMUProvider: Provider {
    public nonisolated let name = "qemu"
    public nonisolated let coordinatorHost: String? = "10.0.2.2"
    private let root: String
    private let settings: QEMUSettings
    private let logger: Logger

    struct VMRecord: Codable, Hashable {
        var id: String
        var nodeID: String
        var tags: [String: String]
        var launchedAt: Date
        var forwards: [Forward]
    }

    /// A guest TCP port reachable at 127.0.0.1:`host`.
    public struct Forward: Codable, Hashable, Sendable {
        public var guest: Int
        public var host: Int
    }

    public init(root: String, settings: QEMUSettings, logger: Logger) throws {
        self.root = root
        self.settings = settings
        self.logger = logger
        try SecureFile.makeDirectory(root + "/vms")
    }

    public nonisolated func validate(_ spec: GroupSpec) throws(ProviderError) {
        guard let image = settings.imageDirectory else {
            throw ProviderError(.invalidSpec, provider: name,
                                "no base image: build one with scripts/build-image and start the coordinator with --qemu-image DIR")
        }
        for file in ["disk.qcow2", "vmlinuz", "initrd.img"] where access(image + "/" + file, R_OK) != 0 {
            throw ProviderError(.invalidSpec, provider: name, "\(image)/\(file) is missing: rebuild the image with scripts/build-image")
        }
        guard access(settings.qemuBinary, X_OK) == 0 else {
            throw ProviderError(.invalidSpec, provider: name, "\(settings.qemuBinary) is not installed (Debian: qemu-system-x86)")
        }
        guard spec.size.max <= settings.maxMachines else {
            throw ProviderError(.invalidSpec, provider: name,
                                "size.max \(spec.size.max): this host runs at most \(settings.maxMachines) virtual machines at a time")
        }
    }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        let id = "vm-" + request.nodeID.dropFirst(2)
        let directory = "\(root)/vms/\(id)"
        if let existing = record(id) { return instance(existing) }
        try validate(request.spec)
        let userData: String
        switch request.userData {
        case .success(let text): userData = text
        case .failure(let error): throw error
        }
        let running = records().filter { isAlive($0.id) }.count
        guard running < settings.maxMachines else {
            throw ProviderError(.createFailed, provider: name, "\(running) virtual machines already run here (at most \(settings.maxMachines))")
        }
        let image = settings.imageDirectory ?? ""
        let forwards = Set(settings.forwardedPorts).sorted().map { Forward(guest: $0, host: FreePort.pick()) }
        let record = VMRecord(id: id, nodeID: request.nodeID, tags: request.tags, launchedAt: Date(), forwards: forwards)
        do {
            try SecureFile.makeDirectory(directory)
            // The seed holds the enrolment token: root-only, like the rest of the VM's directory.
            try SecureFile.write(userData, to: directory + "/user-data")
            try SecureFile.write("instance-id: \(request.nodeID)\nlocal-hostname: \(request.nodeID)\n", to: directory + "/meta-data")
            try run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image + "/disk.qcow2", directory + "/disk.qcow2"])
            try run("/usr/bin/cloud-localds", [directory + "/seed.img", directory + "/user-data", directory + "/meta-data"])
            chmod(directory + "/seed.img", 0o600)
            // Intent before the machine: a crash after QEMU starts still leaves a VM that `list` finds.
            try SecureFile.write(Array(try JSONEncoder().encode(record)), to: directory + "/instance.json")
        } catch let error as ProviderError {
            QEMUProvider.removeTree(directory)
            throw error
        } catch {
            QEMUProvider.removeTree(directory)
            throw ProviderError(.createFailed, provider: name, "cannot prepare \(directory): \(error)")
        }
        let pid: Int32
        do {
            pid = try Spawn.detached(executable: settings.qemuBinary, arguments: arguments(record, directory: directory, image: image),
                                     logFile: directory + "/qemu.log")
        } catch {
            QEMUProvider.removeTree(directory)
            throw ProviderError(.createFailed, provider: name, "cannot start \(settings.qemuBinary): \(error)")
        }
        // QEMU writes its own pidfile too; this one is for the moment before it does.
        try? SecureFile.write("\(pid)\n", to: directory + "/spawn.pid")
        logger.info("started virtual machine", metadata: ["node.id": "\(request.nodeID)", "pid": "\(pid)",
                                                          "accel": "\(QEMUProvider.acceleration(settings.acceleration).rawValue)"])
        return instance(record)
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        let directory = "\(root)/vms/\(instanceID)"
        guard FileManager.default.fileExists(atPath: directory) else { return }  // already gone: destroy is idempotent
        if let pid = livePID(instanceID) {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        QEMUProvider.removeTree(directory)
        logger.info("destroyed virtual machine", metadata: ["instance.id": "\(instanceID)", "reason": "\(reason)"])
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        records()
            .filter { record in tags.allSatisfy { record.tags[$0.key] == $0.value } }
            .sorted { $0.launchedAt < $1.launchedAt }
            .map(instance)
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        record(instanceID).map(instance)
    }

    /// Where the coordinator's probes reach a guest port, if it is forwarded.
    public func forwardedPort(instanceID: String, guestPort: Int) -> Int? {
        record(instanceID)?.forwards.first { $0.guest == guestPort }?.host
    }

    // MARK: - Machines

    func arguments(_ record: VMRecord, directory: String, image: String) -> [String] {
        let accel: [String] = switch QEMUProvider.acceleration(settings.acceleration) {
        case .kvm: ["-accel", "kvm", "-cpu", "host"]
        default: ["-accel", "tcg,thread=multi,tb-size=64", "-cpu", "max"]
        }
        let forwards = record.forwards.map { ",hostfwd=tcp:127.0.0.1:\($0.host)-:\($0.guest)" }.joined()
        return ["-name", "kadende-\(record.nodeID)", "-machine", "q35"] + accel + [
            "-m", "\(settings.memoryMiB)", "-smp", "\(settings.cpus)",
            "-nodefaults", "-display", "none", "-monitor", "none",
            "-serial", "file:\(directory)/console.log",
            "-pidfile", "\(directory)/qemu.pid",
            "-kernel", image + "/vmlinuz", "-initrd", image + "/initrd.img",
            "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0",
            "-drive", "file=\(directory)/disk.qcow2,if=virtio,format=qcow2,discard=unmap",
            "-drive", "file=\(directory)/seed.img,if=virtio,format=raw,readonly=on",
            "-netdev", "user,id=net0\(forwards)", "-device", "virtio-net-pci,netdev=net0",
            "-device", "virtio-rng-pci",
            // The guest agent's channel, when the image has qemu-guest-agent: how an operator (and the VM tests)
            // look inside a node without a network login. Its socket is as private as the VM's directory.
            "-device", "virtio-serial-pci",
            "-chardev", "socket,id=qga0,path=\(directory)/qga.sock,server=on,wait=off",
            "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
        ]
    }

    /// KVM only where it can run a stock kernel: on a host that is itself a guest, nested KVM often cannot.
    static func acceleration(_ wanted: QEMUSettings.Acceleration) -> QEMUSettings.Acceleration {
        guard wanted == .auto else { return wanted }
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return .tcg }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let nested = cpuinfo.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("hypervisor") }
        return nested ? .tcg : .kvm
    }

    private func records() -> [VMRecord] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: root + "/vms")) ?? []
        return ids.filter { $0.hasPrefix("vm-") }.compactMap(record)
    }

    private func record(_ id: String) -> VMRecord? {
        guard let bytes = try? SecureFile.read("\(root)/vms/\(id)/instance.json") else { return nil }
        return try? JSONDecoder().decode(VMRecord.self, from: Data(bytes))
    }

    private func instance(_ record: VMRecord) -> Instance {
        // A QEMU process that is gone is a machine switched off for good: nothing restarts it.
        Instance(id: record.id, tags: record.tags, status: isAlive(record.id) ? .running : .terminated,
                 address: "127.0.0.1", launchedAt: record.launchedAt)
    }

    private func isAlive(_ id: String) -> Bool { livePID(id) != nil }

    /// The VM's QEMU process, if it runs: found by its pidfile and checked by its command line, so a reused pid
    /// is not mistaken for it.
    private func livePID(_ id: String) -> Int32? {
        let directory = "\(root)/vms/\(id)"
        for file in ["qemu.pid", "spawn.pid"] {
            guard let text = try? SecureFile.readText(directory + "/" + file),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else { continue }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return nil }  // our child, and it just exited
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: cmdline, as: UTF8.self).contains(directory + "/disk.qcow2"),
                  ProcFS.state(pid) != "Z" else { continue }
            return pid
        }
        return nil
    }

    private func run(_ executable: String, _ arguments: [String]) throws(ProviderError) {
        let status: Int32
        do {
            status = try Spawn.run(executable, arguments)
        } catch {
            throw ProviderError(.createFailed, provider: name, "\(executable): \(error)")
        }
        guard status == 0 else {
            throw ProviderError(.createFailed, provider: name, "\(executable) \(arguments.first ?? "") failed (wait status \(status))")
        }
    }

    static func removeTree(_ path: String) {
        guard path.contains("/vms/vm-") else { return }  // never remove anything outside a VM directory
        _ = try? Spawn.run("/bin/rm", ["-rf", "--", path])
    }
}
