/// How the `qemu` provider boots its virtual machines.
public struct QEMUSettings: Sendable, Hashable {
    public enum Acceleration: String, Sendable, Hashable, CaseIterable {
        /// KVM on a host that is not itself a virtual machine; TCG otherwise (nested KVM often cannot run a
        /// stock kernel).
        case auto
        case kvm
        case tcg
    }

    /// The directory `scripts/build-image` prints: `disk.qcow2`, `vmlinuz`, `initrd.img`.
    public var imageDirectory: String?
    public var qemuBinary = "/usr/bin/qemu-system-x86_64"
    public var acceleration: Acceleration = .auto
    public var memoryMiB = 256
    public var cpus = 1
    /// Guest TCP ports forwarded to 127.0.0.1 on host ports the provider picks, for the coordinator's probes.
    public var forwardedPorts: [Int] = []
    /// Each VM takes a core: more than this at once and none of them boots in reasonable time.
    public var maxMachines = 2

    public init() {}
}
