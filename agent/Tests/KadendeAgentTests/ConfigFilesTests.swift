import Foundation
@testable import KadendeAgent
import KadendeWire
import Testing

/// Pushed files are written through descriptors opened from the allowed root down, never by name after a check.
/// Defends against a local user who owns a directory under an allowed root and swaps it for a symlink between the
/// agent's check and its write: the agent once resolved the path, checked it, and reopened it by name, so root's
/// write followed the new symlink anywhere.
@Suite struct ConfigFilesTests {
    let dir: String
    let files: ConfigFiles

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-files-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/root/srv/app", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/elsewhere", withIntermediateDirectories: true)
        files = ConfigFiles(root: dir + "/root", allowedRoots: ConfigPaths.defaultAllowedRoots)
    }

    @Test func aDirectorySwappedForASymlinkAfterTheCheckIsNotFollowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = ConfigFile(path: "/srv/app/conf/app.conf", content: "x")
        try FileManager.default.createDirectory(atPath: dir + "/root/srv/app/conf", withIntermediateDirectories: true)
        let placement = try files.check(file)
        // Between the check and the write, the directory becomes a symlink to somewhere else.
        try FileManager.default.removeItem(atPath: dir + "/root/srv/app/conf")
        try FileManager.default.createSymbolicLink(atPath: dir + "/root/srv/app/conf", withDestinationPath: dir + "/elsewhere")
        #expect(throws: (any Error).self) { _ = try files.place(Array("x".utf8), mode: 0o644, at: placement) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/elsewhere").isEmpty, "nothing written through the symlink")
    }

    @Test func aSymlinkPlantedWhereADirectoryWillBeCreatedIsNotFollowed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The check sees no /srv/app/new yet (it will be created); then a symlink appears in its place.
        let placement = try files.check(ConfigFile(path: "/srv/app/new/deeper/app.conf", content: "x"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/root/srv/app/new", withDestinationPath: dir + "/elsewhere")
        #expect(throws: (any Error).self) { _ = try files.place(Array("x".utf8), mode: 0o644, at: placement) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/elsewhere").isEmpty)
    }

    @Test func missingDirectoriesAreCreatedAndTheFileWrittenOnce() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let placement = try files.check(ConfigFile(path: "/etc/app/sub/app.conf", content: "hello", mode: 0o640))
        #expect(try files.place(Array("hello".utf8), mode: 0o640, at: placement))
        #expect(try String(contentsOfFile: dir + "/root/etc/app/sub/app.conf", encoding: .utf8) == "hello")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/root/etc/app/sub/app.conf")[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(try files.place(Array("hello".utf8), mode: 0o640, at: placement) == false, "unchanged content is not written again")
    }
}
