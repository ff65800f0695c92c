import Foundation
@testable import KadendeEC2
import Testing

/// Kadende's signer against AWS's published SigV4 test suite (copied into `SigV4TestSuite/`, see its README).
struct SigV4Tests {
    static let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SigV4TestSuite").path

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: suite)) ?? []).filter { !$0.hasSuffix(".md") }.sorted()
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }
        var credentials: Credentials
        var region: String
        var service: String
        var sign_body: Bool
        var timestamp: String
    }

    /// `request.txt`: `METHOD PATH HTTP/1.1`, header lines, a blank line, the body.
    static func parse(_ text: String) throws -> SignableRequest {
        let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = try #require(requestLine.split(separator: " ").first).description
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let (path, rawQuery) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let query = rawQuery.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (SigV4Signer.percentDecode(String(parts[0])), parts.count > 1 ? SigV4Signer.percentDecode(String(parts[1])) : "")
        }
        let headers = lines.filter { !$0.isEmpty }.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        return SignableRequest(method: method, path: path, query: query, headers: headers, body: Array(body.utf8))
    }

    @Test func theSuiteIsThere() {
        #expect(Self.cases.count >= 25, "\(Self.suite)")
    }

    @Test(arguments: cases)
    func signsLikeTheSuite(_ name: String) throws {
        let dir = Self.suite + "/" + name
        func read(_ file: String) throws -> String { try String(contentsOfFile: dir + "/" + file, encoding: .utf8) }
        let context = try JSONDecoder().decode(Context.self, from: Data(try read("context.json").utf8))
        let request = try Self.parse(try read("request.txt"))
        let date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: context.credentials.access_key_id,
                                                             secretAccessKey: context.credentials.secret_access_key,
                                                             sessionToken: context.credentials.token),
                                 region: context.region, service: context.service, signBodyHeader: context.sign_body)
        let signed = signer.sign(request, at: date)
        #expect(signed.canonicalRequest == (try read("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try read("header-string-to-sign.txt")))
        #expect(signed.signature == (try read("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        let authorization = try #require(signed.headers.last { $0.0 == "Authorization" }?.1)
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/\(context.region)/\(context.service)/aws4_request, SignedHeaders="))
        #expect(authorization.hasSuffix("Signature=\(signed.signature)"))
    }

    @Test func aDifferentSecretGivesADifferentSignature() throws {
        let request = SignableRequest(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")])
        let date = Date(timeIntervalSince1970: 1_440_938_160)
        let a = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "one"), region: "us-east-1", service: "ec2")
        var b = a
        b.credentials.secretAccessKey = "two"
        #expect(a.sign(request, at: date).signature != b.sign(request, at: date).signature)
        #expect(!"\(a.credentials)".contains("one"), "credentials never print their secret")
    }
}
