import Foundation
import KadendeModel
import KadendeProviders
import KadendeWire
import Logging
import Testing

/// What the qemu provider refuses before any VM exists. Booting VMs is VirtualMachineTests' part.
@Suite struct QEMUProviderTests {
    static func spec(max: Int = 2) -> GroupSpec {
        var spec = try! GroupSpec(yaml: "name: vm\nprovider: qemu\nsize: 1\n")
        spec.size.max = max
        return spec
    }

    static func provider(image: String?) throws -> (QEMUProvider, String) {
        let root = try Paths.temporaryDirectory("qemu")
        var settings = QEMUSettings()
        settings.imageDirectory = image
        settings.maxMachines = 2
        return (try QEMUProvider(root: root, settings: settings, logger: Logger(label: "test")), root)
    }

    @Test func refusesWithoutAnImageOrBeyondItsMachines() throws {
        let (noImage, root) = try Self.provider(image: nil)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let missing = #expect(throws: ProviderError.self) { try noImage.validate(Self.spec()) }
        #expect(missing?.message.contains("scripts/build-image") == true)

        let (emptyImage, root2) = try Self.provider(image: root)  // a directory without the image's files
        defer { try? FileManager.default.removeItem(atPath: root2) }
        let incomplete = #expect(throws: ProviderError.self) { try emptyImage.validate(Self.spec()) }
        #expect(incomplete?.message.contains("disk.qcow2") == true)
    }

    @Test func aNodeWithoutUserDataIsNotCreated() async throws {
        // An image directory with the right names is enough: the create must stop before QEMU is asked.
        let image = try Paths.temporaryDirectory("qemu-image")
        defer { try? FileManager.default.removeItem(atPath: image) }
        for file in ["disk.qcow2", "vmlinuz", "initrd.img"] { FileManager.default.createFile(atPath: "\(image)/\(file)", contents: Data()) }
        let (provider, root) = try Self.provider(image: image)
        defer { try? FileManager.default.removeItem(atPath: root) }
        if FileManager.default.isExecutableFile(atPath: QEMUSettings().qemuBinary) {
            #expect(throws: ProviderError.self) { try provider.validate(Self.spec(max: 3)) }
        }
        let reason = ProviderError(.createFailed, provider: "qemu", "no kadende-agent for x86_64 to install")
        let request = CreateRequest(nodeID: "n-0123456789abcdef", spec: Self.spec(), tags: [InstanceTag.node: "n-0123456789abcdef"],
                                    agent: .largestPossible, userData: .failure(reason))
        await #expect(throws: ProviderError.self) { _ = try await provider.create(request) }
        #expect(try await provider.list(tags: [:]).isEmpty)
        #expect((try FileManager.default.contentsOfDirectory(atPath: root + "/vms")).isEmpty)
    }
}
