import KadendeSupport
#if canImport(Glibc)
import Glibc
#endif

enum ProcFS {
    /// Fields after the command name in /proc/PID/stat (the name may contain spaces and parentheses).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? SecureFile.readText("/proc/\(pid)/stat") else { return nil }
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    static func startTicks(_ pid: Int32) -> UInt64? {
        // Field 22 overall; the slice starts at field 3.
        guard let fields = statFields(pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    static func state(_ pid: Int32) -> String? {
        statFields(pid)?.first.map(String.init)
    }
}
