import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Named places where a test can make the coordinator die as a power cut would, or stall as a paused process
/// would. `KADENDE_FAILPOINT=NAME` kills the process with SIGKILL when it reaches NAME; `NAME:stop` stops it with
/// SIGSTOP there (once), for the test to resume with SIGCONT when it has seen what it needs. Crash safety and
/// fencing are claimed, so they are tested at the exact instants that matter, not near them by luck.
public enum Failpoint {
    private static let stopped = Atomic<Bool>(false)

    public static func hit(_ name: String) {
        guard let armed = getenv("KADENDE_FAILPOINT") else { return }
        let value = String(cString: armed)
        if value == name {
            kill(getpid(), SIGKILL)
        } else if value == name + ":stop", !stopped.exchange(true, ordering: .relaxed) {
            kill(getpid(), SIGSTOP)
        }
    }
}
