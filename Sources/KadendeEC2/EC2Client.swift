import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where and how the EC2 provider calls EC2.
public struct EC2Settings: Sendable {
    public var region: String
    /// Overrides `https://ec2.<region>.amazonaws.com` (an emulator, a VPC endpoint, another partition).
    public var endpoint: String?
    /// One HTTP call, connection included.
    public var requestTimeout: Double = 20
    /// Attempts for a call that is throttled, answered with a 5xx, or cut off in transit.
    public var maxAttempts: Int = 6
    /// Exponential backoff with full jitter: a wait is uniform in [0, min(maxDelay, baseDelay × 2^attempt)].
    public var baseDelay: Double = 0.25
    public var maxDelay: Double = 20

    public init(region: String, endpoint: String? = nil) {
        self.region = region
        self.endpoint = endpoint
    }

    public var url: String { endpoint ?? "https://ec2.\(region).amazonaws.com" }
}

/// An EC2 call that failed, with EC2's own code (`RequestLimitExceeded`, `AuthFailure`, …) or one of Kadende's
/// (`timeout`, `transport`, `malformed_response`).
public struct EC2Error: Error, Sendable, CustomStringConvertible {
    public var action: String
    public var code: String
    public var message: String
    public var httpStatus: Int?
    public var attempts: Int

    public var description: String {
        "EC2 \(action): \(code)\(httpStatus.map { " (HTTP \($0))" } ?? ""): \(message)\(attempts > 1 ? " after \(attempts) attempts" : "")"
    }

    static let throttling: Set<String> = ["RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled",
                                          "RequestThrottledException", "TooManyRequestsException"]
    static let authentication: Set<String> = ["AuthFailure", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
                                              "IncompleteSignature", "MissingAuthenticationToken", "InvalidAccessKeyId", "ExpiredToken"]

    public var isAuthentication: Bool { Self.authentication.contains(code) }
    public var isTimeout: Bool { code == "timeout" }
    /// Worth another attempt: throttled, the server's fault, or lost in transit.
    var isRetryable: Bool {
        Self.throttling.contains(code) || (httpStatus.map { $0 >= 500 } ?? false) || code == "transport"
            || ["InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"].contains(code)
    }
}

/// The EC2 Query API over HTTP: form-encoded POSTs signed with SigV4, XML answers. Other services of the same
/// protocol (IAM, which the tests use to set up an emulator's user) differ only in `service` and `apiVersion`.
public struct EC2Client: Sendable {
    public static let apiVersion = "2016-11-15"
    public var settings: EC2Settings
    public var service = "ec2"
    public var apiVersion = EC2Client.apiVersion
    /// Credentials for the cluster being served (nil: none named), looked up at each call so rotation takes effect.
    public var credentials: @Sendable (String?) async throws -> AWSCredentials
    /// The cluster this client serves.
    public var cluster: String?
    var logger: Logger
    let http: HTTPClient
    /// Injected so tests of the backoff need not wait for it.
    var sleep: @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }

    public init(settings: EC2Settings, credentials: @escaping @Sendable (String?) async throws -> AWSCredentials, logger: Logger,
                http: HTTPClient = .shared) {
        self.settings = settings
        self.credentials = credentials
        self.logger = logger
        self.http = http
    }

    /// Calls `action`, retrying what is worth retrying. `retryTimeouts` is false for calls that must not be
    /// repeated blindly after a timeout (RunInstances: the caller resolves it by listing instead).
    public func call(_ action: String, _ parameters: [(String, String)], retryTimeouts: Bool = true) async throws(EC2Error) -> XMLTree {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await once(action, parameters)
            } catch var error {
                error.attempts = attempt
                let again = error.isRetryable || (retryTimeouts && error.isTimeout)
                guard again, attempt < settings.maxAttempts else { throw error }
                let ceiling = min(settings.maxDelay, settings.baseDelay * Double(1 << min(attempt - 1, 20)))
                let delay = Double.random(in: 0...ceiling)
                logger.warning("EC2 call failed; retrying", metadata: [
                    "action": "\(action)", "code": "\(error.code)", "attempt": "\(attempt)", "delay": "\(delay)",
                ])
                do { try await sleep(delay) } catch { throw EC2Error(action: action, code: "cancelled", message: "\(error)", attempts: attempt) }
            }
        }
    }

    private func once(_ action: String, _ parameters: [(String, String)]) async throws(EC2Error) -> XMLTree {
        guard let url = URL(string: settings.url), let host = url.host else {
            throw EC2Error(action: action, code: "bad_endpoint", message: "\(settings.url) is not a URL", attempts: 1)
        }
        let creds: AWSCredentials
        do { creds = try await credentials(cluster) } catch {
            throw EC2Error(action: action, code: "no_credentials", message: "\(error)", attempts: 1)
        }
        let form = ([("Action", action), ("Version", apiVersion)] + parameters)
            .map { "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&")
        let body = Array(form.utf8)
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        let signer = SigV4Signer(credentials: creds, region: settings.region, service: service)
        let path = url.path.isEmpty ? "/" : url.path
        let signed = signer.sign(SignableRequest(method: "POST", path: path, headers: [
            ("Host", hostHeader), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ], body: body), at: Date())

        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        for (name, value) in signed.headers where name != "Host" { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: Int
        let answer: [UInt8]
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(settings.requestTimeout * 1000)))
            status = Int(response.status.code)
            var buffer = try await response.body.collect(upTo: 16 << 20)
            answer = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw EC2Error(action: action, code: "timeout", message: "no answer from \(settings.url) within \(settings.requestTimeout)s", attempts: 1)
        } catch {
            throw EC2Error(action: action, code: "transport", message: "\(settings.url): \(error)", attempts: 1)
        }
        guard let tree = XMLTree.parse(answer) else {
            let excerpt = String(decoding: answer.prefix(200), as: UTF8.self)
            throw EC2Error(action: action, code: status >= 500 ? "InternalError" : "malformed_response",
                           message: "HTTP \(status) with a body that is not XML: \(excerpt)", httpStatus: status, attempts: 1)
        }
        // Errors come as <Response><Errors><Error><Code/><Message/>…; some emulators use <ErrorResponse><Error>.
        if let error = tree.all("Error").first, let code = error.value("Code") {
            throw EC2Error(action: action, code: code, message: error.value("Message") ?? "", httpStatus: status, attempts: 1)
        }
        guard (200..<300).contains(status) else {
            throw EC2Error(action: action, code: status >= 500 ? "InternalError" : "http_\(status)", message: "HTTP \(status)",
                           httpStatus: status, attempts: 1)
        }
        return tree
    }
}
