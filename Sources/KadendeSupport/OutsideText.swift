/// Text that came from outside (a peer, a request, a stored row written from one) on its way into a log line, an
/// event, an audit entry or a terminal: cut to a size and with control characters escaped, so it can neither grow
/// without bound nor forge a line or move a cursor.
public enum OutsideText {
    /// At most `limit` characters of `text`, with newlines, escapes and other control characters written as
    /// `\n`, `\u{1b}` and the like; `…` marks a cut.
    public static func sanitized(_ text: some StringProtocol, limit: Int = 256) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out.append("…")
                return out
            }
            switch scalar {
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || (0x202a...0x202e).contains(scalar.value)
                || (0x2066...0x2069).contains(scalar.value):
                // C0 and C1 controls, and the bidirectional overrides that reorder what a reader sees.
                out.append("\\u{\(String(scalar.value, radix: 16))}")
            default: out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }

    /// Whether `text` holds nothing `sanitized` would change (and is no longer than `limit`).
    public static func isClean(_ text: some StringProtocol, limit: Int) -> Bool {
        text.count <= limit && sanitized(text, limit: limit) == String(text)
    }

    /// At most `bytes` bytes of `text`, cut at a character boundary.
    public static func prefix(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var out = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > bytes { break }
            out.append(character)
            used += size
        }
        return out
    }
}
