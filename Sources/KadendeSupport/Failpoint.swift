import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Named places where a test can make the coordinator die as a power cut would, or stall. `KADENDE_FAILPOINT=NAME`
/// kills the process with SIGKILL when it reaches NAME; `NAME:stop` stops it with SIGSTOP there (once), for the test
/// to resume with SIGCONT; `NAME:hold=FILE` holds the task that reached it (once) until FILE exists, while the rest of
/// the coordinator runs. Crash safety and fencing are claimed, so they are tested at the exact instants that matter,
/// not near them by luck.
public enum Failpoint {
    private static let fired = Atomic<Bool>(false)

    public static func hit(_ name: String) {
        guard let armed = getenv("KADENDE_FAILPOINT") else { return }
        let value = String(cString: armed)
        if value == name {
            kill(getpid(), SIGKILL)
        } else if value == name + ":stop", !fired.exchange(true, ordering: .relaxed) {
            kill(getpid(), SIGSTOP)
        } else if value.hasPrefix(name + ":hold="), !fired.exchange(true, ordering: .relaxed) {
            let file = String(value.dropFirst(name.count + ":hold=".count))
            // A test hook: blocks this thread, at most ten minutes.
            for _ in 0..<12_000 where access(file, F_OK) != 0 { usleep(50_000) }
        }
    }
}
