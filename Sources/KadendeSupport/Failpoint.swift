#if canImport(Glibc)
import Glibc
#endif

/// Named places where a test can make the coordinator die as a power cut would: `KADENDE_FAILPOINT=NAME` kills the
/// process with SIGKILL when it reaches NAME. Crash safety is claimed, so it is tested at the exact instants that
/// matter (after the intent is written, after the provider made the machine), not near them by luck.
public enum Failpoint {
    public static func hit(_ name: String) {
        guard let armed = getenv("KADENDE_FAILPOINT"), String(cString: armed) == name else { return }
        kill(getpid(), SIGKILL)
    }
}
