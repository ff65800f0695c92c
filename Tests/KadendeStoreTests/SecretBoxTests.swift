import Foundation
import KadendeStore
import Testing

@Suite struct SecretBoxTests {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-secrets-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    @Test func sealedValuesOpenOnlyWithTheirKeyAndTheirName() throws {
        let box = try SecretBox.load(dataDirectory: dir, environment: [:])
        let sealed = try box.seal(Array("s3cr3t".utf8), context: "default/provider/ec2")
        #expect(!Data(sealed).contains(Data("s3cr3t".utf8)))
        #expect(try box.open(sealed, context: "default/provider/ec2") == Array("s3cr3t".utf8))
        // Moved to another cluster's row: refused.
        #expect(throws: SecretBox.Failure.self) { try box.open(sealed, context: "other/provider/ec2") }
        // The key file is the owner's alone, and the same key is loaded again.
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secret.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try SecretBox.load(dataDirectory: dir, environment: [:]).open(sealed, context: "default/provider/ec2") == Array("s3cr3t".utf8))
        // Another key: refused, with a message that names the likely cause.
        let other = try SecretBox.load(dataDirectory: dir, environment: ["KADENDE_SECRET_KEY": Data(repeating: 7, count: 32).base64EncodedString()])
        let refused = #expect(throws: SecretBox.Failure.self) { try other.open(sealed, context: "default/provider/ec2") }
        #expect(refused?.description.contains("KADENDE_SECRET_KEY") == true)
        // A flipped bit: refused.
        var tampered = sealed
        tampered[tampered.count / 2] ^= 1
        #expect(throws: SecretBox.Failure.self) { try box.open(tampered, context: "default/provider/ec2") }
    }

    @Test(arguments: ["not base64!", Data(repeating: 1, count: 16).base64EncodedString()])
    func aMalformedKeyInTheEnvironmentIsRefused(_ key: String) {
        #expect(throws: SecretBox.Failure.self) { try SecretBox.load(dataDirectory: dir, environment: ["KADENDE_SECRET_KEY": key]) }
    }

    @Test func aKeyFileOfTheWrongSizeIsRefused() throws {
        try Data(repeating: 1, count: 5).write(to: URL(fileURLWithPath: dir + "/secret.key"))
        #expect(throws: SecretBox.Failure.self) { try SecretBox.load(dataDirectory: dir, environment: [:]) }
    }
}
