import Foundation

/// Reads samples out of a Prometheus text exposition, so tests compare numbers and not formatting.
struct PrometheusText {
    let text: String

    /// The value of the sample `name{labels}` whose labels include every pair given; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let metric = series.split(separator: "{", maxSplits: 1).first.map(String.init) ?? ""
            guard metric == name else { continue }
            let held = series.contains("{") ? String(series.drop { $0 != "{" }.dropFirst().dropLast()) : ""
            let pairs = Set(held.split(separator: ",").map { $0.replacingOccurrences(of: "\"", with: "") })
            if labels.allSatisfy({ pairs.contains("\($0.key)=\($0.value)") }) { return Double(line[line.index(after: space)...]) }
        }
        return nil
    }
}

extension ServerProcess {
    /// `/metrics` with the admin's token.
    func scrapeMetrics() throws -> PrometheusText {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sf", "--max-time", "20", "-H", "Authorization: Bearer \(token ?? "")"]
            + (scheme == "https" ? ["--cacert", dataDirectory + "/pki/ca.pem"] : []) + [url + "/metrics"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError(message: "GET /metrics: curl exit \(process.terminationStatus)") }
        return PrometheusText(text: String(decoding: data, as: UTF8.self))
    }
}
