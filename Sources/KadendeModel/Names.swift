/// Names of clusters and groups: DNS-label shaped so they fit in tags, hostnames and URLs everywhere.
public enum ResourceName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...63).contains(name.count), let first = name.first, let last = name.last else { return false }
        guard first.isASCII, first.isLetter || first.isNumber, last != "-" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }
}

/// Tag keys every provider instance carries. The provider's tagged list is the truth about what exists.
public enum InstanceTag {
    public static let cluster = "kadende.cluster"
    public static let group = "kadende.group"
    public static let node = "kadende.node"
    public static let specHash = "kadende.spec-hash"
}
