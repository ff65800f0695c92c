import AsyncHTTPClient
import KadendeAPI
import NIOCore
import NIOHTTP1
import NIOConcurrencyHelpers
import NIOSSL
import Foundation

/// The CLI's view of a coordinator: every command goes through the REST API, local or remote.
struct APIClient {
    let base: String
    let token: String?
    /// A CA file to trust for an https coordinator (its own CA, `<data-dir>/pki/ca.pem`) besides the system's.
    let ca: String?

    init(base: String, token: String? = nil, ca: String? = nil) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.token = token
        self.ca = ca
    }

    /// One client per process for a given CA; never shut down, since the process ends with the command.
    private static let clients = NIOLockedValueBox<[String: HTTPClient]>([:])

    private var http: HTTPClient {
        get throws {
            guard let ca else { return .shared }
            return try Self.clients.withLockedValue { clients in
                if let client = clients[ca] { return client }
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.additionalTrustRoots = [.file(ca)]
                guard FileManager.default.isReadableFile(atPath: ca) else { throw Failure(description: "cannot read the CA file \(ca)") }
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                clients[ca] = client
                return client
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self, timeout: Int64 = 30) async throws -> T {
        try await send(.GET, path, body: nil, contentType: nil, timeout: timeout)
    }

    func delete<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send(.DELETE, path, body: nil, contentType: nil, timeout: 30)
    }

    func post<T: Decodable>(_ path: String, yaml: String, as type: T.Type = T.self) async throws -> T {
        try await send(.POST, path, body: yaml, contentType: "application/yaml", timeout: 30)
    }

    func post<T: Decodable, B: Encodable>(_ path: String, json body: B, as type: T.Type = T.self) async throws -> T {
        let text = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
        return try await send(.POST, path, body: text, contentType: "application/json", timeout: 30)
    }

    func post<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send(.POST, path, body: nil, contentType: nil, timeout: 30)
    }

    func put<T: Decodable, B: Encodable>(_ path: String, json body: B, as type: T.Type = T.self) async throws -> T {
        let text = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
        return try await send(.PUT, path, body: text, contentType: "application/json", timeout: 30)
    }

    func patch<T: Decodable, B: Encodable>(_ path: String, json body: B, as type: T.Type = T.self) async throws -> T {
        let text = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
        return try await send(.PATCH, path, body: text, contentType: "application/json", timeout: 30)
    }

    private func send<T: Decodable>(_ method: HTTPMethod, _ path: String, body: String?, contentType: String?, timeout: Int64) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(timeout))
        } catch {
            let hint = "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
                ? " (its certificate is not trusted: pass --ca <data-dir>/pki/ca.pem or set KADENDE_CA)" : ""
            throw Failure(description: "cannot reach the coordinator at \(base)\(hint): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            if var error = try? Self.decoder.decode(APIErrorEnvelope.self, from: data).error {
                error.message = Output.clean(error.message)
                throw error
            }
            throw Failure(description: "coordinator answered \(response.status.code) \(response.status.reasonPhrase)")
        }
        do {
            return try Self.decoder.decode(T.self, from: data)
        } catch {
            throw Failure(description: "coordinator answered something this CLI cannot read: \(error)")
        }
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = APIDates.decoding
        return d
    }()

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(.init(charactersIn: "&=/?#"))) ?? component
    }
}

