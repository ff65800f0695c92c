/// Kadende's release. Coordinator and agent are built from one tree and carry the same version; the coordinator
/// offers nodes the agent of its own version first.
public enum KadendeVersion {
    public static let current = "0.1.0"
}
