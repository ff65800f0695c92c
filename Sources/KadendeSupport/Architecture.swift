#if canImport(Glibc)
import Glibc
#endif

/// The machine architecture as `uname -m` names it (`x86_64`, `aarch64`): the name agent artifacts carry.
public enum Architecture {
    public static let current: String = {
        var info = utsname()
        guard uname(&info) == 0 else { return "x86_64" }
        return withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }()
}
