/// The subset of cloud-init's `#cloud-config` that Kadende writes, as typed values: user-data is built by
/// encoding these, never by splicing text.
struct CloudConfig: Encodable {
    var packageUpdate: Bool?
    var packages: [String]?
    var writeFiles: [WriteFile]
    var runcmd: [[String]]

    enum CodingKeys: String, CodingKey {
        case packageUpdate = "package_update"
        case packages
        case writeFiles = "write_files"
        case runcmd
    }

    struct WriteFile: Encodable {
        var path: String
        var content: String
        var permissions: String
        var owner: String
    }
}
