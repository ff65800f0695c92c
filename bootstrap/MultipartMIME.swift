/// A `multipart/mixed` document as cloud-init reads it, used when a group brings its own cloud-config or script.
enum MultipartMIME {
    struct Part {
        var contentType: String
        var filename: String
        var body: String
    }

    /// cloud-config parts are merged by appending lists and keeping Kadende's keys, so the user's
    /// `write_files` or `runcmd` add to Kadende's instead of replacing them.
    static let mergeType = "list(append)+dict(no_replace,recurse_list)+str()"

    static func make(parts: [Part]) -> String {
        let boundary = boundary(for: parts)
        var out = "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\nMIME-Version: 1.0\n\n"
        for part in parts {
            out += "--\(boundary)\n"
            out += "Content-Type: \(part.contentType); charset=\"utf-8\"\n"
            out += "MIME-Version: 1.0\n"
            out += "Content-Transfer-Encoding: 8bit\n"
            if part.contentType == "text/cloud-config" { out += "Merge-Type: \(mergeType)\n" }
            out += "Content-Disposition: attachment; filename=\"\(part.filename)\"\n\n"
            out += part.body.hasSuffix("\n") ? part.body : part.body + "\n"
        }
        return out + "--\(boundary)--\n"
    }

    /// A boundary that occurs in no part.
    private static func boundary(for parts: [Part]) -> String {
        var n = 0
        while true {
            let candidate = "==KADENDE-\(n)=="
            if !parts.contains(where: { $0.body.contains(candidate) }) { return candidate }
            n += 1
        }
    }
}
