import Foundation
import KadendeSupport
import Testing

/// The small pieces every edge uses on what came from outside.
@Suite struct OutsideInputTests {
    /// Conversions of outside numbers never trap. Defends against `Int(1e17 * 1000)`-style traps that once stopped
    /// the coordinator at a hello and an agent at its first probe.
    @Test func conversionsClampInsteadOfTrapping() {
        #expect(Int(clamping: .nan, to: 0...10) == 0)
        #expect(Int(clamping: .infinity, to: 0...10) == 10)
        #expect(Int(clamping: -.infinity, to: 0...10) == 0)
        #expect(Int(clamping: 1e300, to: 0...Int.max) == Int.max)
        #expect(Int(clamping: 7.9, to: 0...10) == 7)
        #expect(Clamp.milliseconds(1e17) == Int(Clamp.maxSeconds * 1000))
        #expect(Clamp.milliseconds(-5) == 0 && Clamp.milliseconds(1.5) == 1500)
    }

    /// Text from outside cannot forge a log line or drive a terminal, and is cut. Defends against a bye reason with
    /// newlines written whole to the log and a 64 KiB user name in the audit log.
    @Test func controlCharactersAreEscapedAndLengthsCut() {
        #expect(OutsideText.sanitized("ok\n2026-12-02 forged line\u{1b}[2J\r", limit: 100) == "ok\\n2026-12-02 forged line\\u{1b}[2J\\r")
        #expect(OutsideText.sanitized("abc\u{202e}def", limit: 100) == "abc\\u{202e}def", "a bidirectional override reorders what a reader sees")
        #expect(OutsideText.sanitized(String(repeating: "x", count: 70_000), limit: 64) == String(repeating: "x", count: 64) + "…")
        #expect(OutsideText.sanitized("héllo wörld", limit: 100) == "héllo wörld")
        #expect(OutsideText.prefix("ééé", bytes: 5) == "éé", "cut at a character, never inside one")
        #expect(OutsideText.isClean("plain", limit: 10) && !OutsideText.isClean("two\nlines", limit: 10))
    }

    /// What unauthenticated peers may make the coordinator write: a burst per source, a steady rate after, a shared
    /// ceiling, and the count of what was left out on the next write made.
    @Test func writesAreAllowedInBurstsThenAtASteadyRate() {
        var allowance = WriteAllowance()
        allowance.burstPerSource = 3
        allowance.perSourcePerMinute = 6
        allowance.burstOverall = 5
        allowance.overallPerMinute = 60
        let taken = (0..<10).map { _ in allowance.take(source: "a", now: 0).allowed }
        #expect(taken.filter { $0 }.count == 3, "a burst of three, then nothing")
        #expect(allowance.take(source: "b", now: 0).allowed && allowance.take(source: "b", now: 0).allowed)
        #expect(!allowance.take(source: "c", now: 0).allowed, "the overall ceiling of five is spent")
        // Ten seconds later a refills one (6 a minute), and says seven were left out before it.
        let later = allowance.take(source: "a", now: 10)
        #expect(later.allowed && later.leftOut == 7, "\(later)")
        #expect(!allowance.take(source: "a", now: 10).allowed)
    }

    /// A data directory someone made world-readable is made private, with the files directly in it, and a symlink in
    /// it is not followed. Defends against a store and logs any local user could read.
    @Test func theDataDirectoryIsMadePrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-private-\(UUID().uuidString.prefix(8))").path
        let outside = dir + "-outside"
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createDirectory(atPath: dir + "/pki", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod(dir, 0o755)
        FileManager.default.createFile(atPath: dir + "/kadende.sqlite", contents: Data(), attributes: [.posixPermissions: 0o644])
        FileManager.default.createFile(atPath: outside, contents: Data(), attributes: [.posixPermissions: 0o644])
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: outside)
        let old = umask(0o022)
        defer { umask(old) }
        try DataDirectory.makePrivate(dir)
        func mode(_ path: String) throws -> Int { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1 }
        #expect(try mode(dir) == 0o700 && mode(dir + "/pki") == 0o700 && mode(dir + "/kadende.sqlite") == 0o600)
        #expect(try mode(outside) == 0o644, "a symlink's target is not the data directory's")
        #expect(umask(0o022) == 0o077, "what the process creates later is private from the start")
    }
}
