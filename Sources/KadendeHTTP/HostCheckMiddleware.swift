import Hummingbird

/// Serves only requests addressed to a name the coordinator is known by. A web page elsewhere can make a browser
/// send requests to 127.0.0.1 under a name it controls (DNS rebinding); such a request carries that name in `Host`
/// and is refused here before it reaches any handler.
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Host names (without ports), lowercased.
    let allowed: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = Self.hostName(request.head.authority ?? "")
        guard allowed.contains(host) else {
            throw APIError(status: 421, code: "unknown_host",
                           message: "this coordinator does not answer to \"\(host.prefix(100))\"; its API is served as \(allowed.sorted().joined(separator: ", ")) (kadende server --api-host)")
        }
        return try await next(request, context)
    }

    /// `example.com:7080` → `example.com`; `[::1]:7080` → `::1`.
    static func hostName(_ authority: String) -> String {
        var text = Substring(authority.lowercased())
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
        return String(text)
    }

    /// The names a listener on `listenHost` is known by without configuration: its own address, and on loopback the
    /// loopback names.
    static func defaultNames(listenHost: String) -> Set<String> {
        var names: Set<String> = [listenHost.lowercased()]
        if ["127.0.0.1", "::1", "localhost"].contains(listenHost) || listenHost.hasPrefix("127.") {
            names.formUnion(["127.0.0.1", "::1", "localhost"])
        }
        return names
    }
}
