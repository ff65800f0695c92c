import KadendeProbes
import KadendeSupport
import KadendeWire
#if canImport(Glibc)
import Glibc
#endif

/// Places pushed files on the node. A path is checked twice: by its text (`ConfigPaths`), then on disk. On disk it
/// is never resolved by name: the agent opens the files root and the allowed root the path lies under (both the
/// machine's own, root's), then walks every further directory with `openat` and `O_NOFOLLOW`, creating missing
/// ones with `mkdirat`, and writes through the last directory's descriptor (a temporary file, then `renameat`). A
/// local user who owns a directory under an allowed root cannot redirect the write by swapping part of the path
/// for a symlink between the check and the write: a symlink anywhere below the allowed root is refused, and what
/// was opened stays what is written. Targets that are symlinks, directories or devices are refused.
struct ConfigFiles: Sendable {
    /// Absolute directory that revision paths are relative to ("/" on a real machine).
    let root: String
    let allowedRoots: [String]

    struct Placement: Sendable {
        /// The allowed root the file lies under, as the revision names it (`/etc`).
        var allowedRoot: String
        /// The directories below it and the file's name.
        var below: [String]
        var uid: uid_t?
        var gid: gid_t?

        var shown: String { (allowedRoot == "/" ? "" : allowedRoot) + "/" + below.joined(separator: "/") }
    }

    /// Everything that can be known before writing: the path's text and what is on disk, the owner and group.
    func check(_ file: ConfigFile) throws(ConfigPaths.Refusal) -> Placement {
        try ConfigPaths.check(file.path, allowedRoots: allowedRoots)
        guard file.mode >= 0, file.mode <= 0o7777 else { throw ConfigPaths.Refusal(message: "\(file.path): mode \(file.mode) is not a file mode") }
        // The deepest allowed root the path lies in; the text check made sure there is one.
        guard let allowed = allowedRoots.filter({ ConfigPaths.isWithin(file.path, $0) }).max(by: { $0.count < $1.count }) else {
            throw ConfigPaths.Refusal(message: "\(file.path.prefix(200)): outside the allowed roots")
        }
        let below = file.path.dropFirst(allowed == "/" ? 1 : allowed.count + 1).split(separator: "/").map(String.init)
        guard !below.isEmpty else { throw ConfigPaths.Refusal(message: "\(file.path.prefix(200)): is an allowed root itself") }
        var placement = Placement(allowedRoot: allowed, below: below)
        // Walk what exists, as the write will: a symlink on the way or as the target is refused now.
        if let directory = try directory(of: placement, creating: false) {
            defer { close(directory) }
            var info = stat()
            if fstatat(directory, below[below.count - 1], &info, AT_SYMLINK_NOFOLLOW) == 0 {
                switch info.st_mode & S_IFMT {
                case S_IFREG: break
                case S_IFLNK: throw ConfigPaths.Refusal(message: "\(file.path): is a symlink; a push replaces regular files only")
                case S_IFDIR: throw ConfigPaths.Refusal(message: "\(file.path): is a directory")
                default: throw ConfigPaths.Refusal(message: "\(file.path): is a device, pipe or socket")
                }
            }
        }
        if let owner = file.owner {
            guard let account = Account(owner) else { throw ConfigPaths.Refusal(message: "\(file.path): owner \(owner.prefix(64)) does not exist on this node") }
            placement.uid = account.uid
            placement.gid = account.gid
        }
        if let group = file.group {
            guard let gid = Self.groupID(group) else { throw ConfigPaths.Refusal(message: "\(file.path): group \(group.prefix(64)) does not exist on this node") }
            placement.gid = gid
            if placement.uid == nil { placement.uid = getuid() }
        }
        return placement
    }

    /// Writes `bytes` unless the file already holds them with the same mode and owner. Returns whether it wrote.
    func place(_ bytes: [UInt8], mode: Int, at placement: Placement) throws -> Bool {
        guard let directory = try directory(of: placement, creating: true) else {
            throw ConfigPaths.Refusal(message: "\(placement.shown): cannot open its directory")
        }
        defer { close(directory) }
        let name = placement.below[placement.below.count - 1]
        var info = stat()
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_mode & 0o7777) == mode,
           placement.uid.map({ $0 == info.st_uid }) ?? true, placement.gid.map({ $0 == info.st_gid }) ?? true,
           Int(info.st_size) == bytes.count, (try? SecureFile.read(in: directory, name)) == bytes {
            return false
        }
        let owner = placement.uid.map { (uid: $0, gid: placement.gid ?? getgid()) }
        try SecureFile.write(bytes, in: directory, name, mode: mode_t(mode), owner: owner)
        return true
    }

    /// A descriptor of the directory a placement's file goes in, opened as described above (the caller closes it);
    /// nil when part of it does not exist yet and `creating` is false.
    private func directory(of placement: Placement, creating: Bool) throws(ConfigPaths.Refusal) -> Int32? {
        let shown = placement.shown
        // The files root and the allowed root are the machine's own: followed as the system resolves them.
        let base = (root == "/" ? "" : root) + (placement.allowedRoot == "/" ? "" : placement.allowedRoot)
        if creating { try? Self.makeDirectories(base.isEmpty ? "/" : base) }
        var current = open(base.isEmpty ? "/" : base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else {
            if errno == ENOENT, !creating { return nil }
            throw ConfigPaths.Refusal(message: "\(shown): cannot open \(placement.allowedRoot): \(String(cString: strerror(errno)))")
        }
        for component in placement.below.dropLast() {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT {
                guard creating else {
                    close(current)
                    return nil
                }
                if mkdirat(current, component, 0o755) != 0, errno != EEXIST {
                    let error = errno
                    close(current)
                    throw ConfigPaths.Refusal(message: "\(shown): cannot create \(component): \(String(cString: strerror(error)))")
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let error = errno
            close(current)
            guard next >= 0 else {
                // O_NOFOLLOW on a symlink is ELOOP; O_DIRECTORY on anything else, ENOTDIR.
                if error == ELOOP || error == ENOTDIR {
                    throw ConfigPaths.Refusal(message: "\(shown): resolves through a symlink or a file at \(component), which a push never follows")
                }
                throw ConfigPaths.Refusal(message: "\(shown): cannot open \(component): \(String(cString: strerror(error)))")
            }
            current = next
        }
        return current
    }

    /// Creates the machine's own directories (the files root, an allowed root) the ordinary way.
    static func makeDirectories(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) != 0 else { return }
        let parent = parent(of: path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SecureFile.Failure(path: path, operation: "mkdir", errno: errno)
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func groupID(_ name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
