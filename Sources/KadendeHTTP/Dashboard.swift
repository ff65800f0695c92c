import Hummingbird
import HTTPTypes
import NIOCore

/// The web dashboard: three static files compiled into the binary, served without a token (they hold no data;
/// everything they show comes from the API with the user's session). A strict content security policy allows
/// only the dashboard's own script and style, and no framing.
enum Dashboard {
    static let files: [String: (type: String, bytes: [UInt8])] = [
        "/ui/": ("text/html; charset=utf-8", PackageResources.index_html),
        "/ui/dashboard.css": ("text/css; charset=utf-8", PackageResources.dashboard_css),
        "/ui/dashboard.js": ("text/javascript; charset=utf-8", PackageResources.dashboard_js),
    ]

    static func isPublic(_ path: String) -> Bool { path == "/" || files[path] != nil }

    static func addRoutes(to router: Router<KadendeRequestContext>) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/ui/"]) }
        for (path, file) in files {
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: [
                    .contentType: file.type,
                    .cacheControl: "no-cache",
                    .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                    .xContentTypeOptions: "nosniff",
                    HTTPField.Name("Referrer-Policy")!: "no-referrer",
                ], body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
    }
}
