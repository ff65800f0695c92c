@testable import KadendeAgent
import KadendeWire
import Testing

@Suite struct AgentConfigFileTests {
    static let pin = "sha256:" + String(repeating: "ab", count: 32)

    @Test func readsWhatKadendeWrites() throws {
        // The shape Yams' encoder produces for AgentConfig (the coordinator writes agent.yaml with it).
        let text = """
            caPin: \(Self.pin)
            endpoints:
            - 10.0.2.2:7443
            - coordinator.example:7443
            nodeID: n-0123456789abcdef
            token: kdt_00ff
            """
        let config = try AgentConfigFile.parse(text)
        #expect(config == AgentConfig(nodeID: "n-0123456789abcdef", endpoints: ["10.0.2.2:7443", "coordinator.example:7443"],
                                      caPin: Self.pin, token: "kdt_00ff"))
    }

    @Test func readsWhatAPersonWrites() throws {
        let text = """
            # written by hand
            nodeID: "n-0123456789abcdef"
            endpoints: ['127.0.0.1:7443', "[::1]:7443"]
            caPin: \(Self.pin)   # from kadende server's first line
            token: 'kdt_00ff'
            dataDir: /var/lib/kadende-agent
            """
        let config = try AgentConfigFile.parse(text)
        #expect(config.endpoints == ["127.0.0.1:7443", "[::1]:7443"])
        #expect(config.nodeID == "n-0123456789abcdef" && config.token == "kdt_00ff" && config.dataDir == "/var/lib/kadende-agent")
    }

    @Test(arguments: [
        ("nodeID: n-0123456789abcdef\ncaPin: x\n", "token is required"),
        ("nodeID: a\nnodeId: b\n", "unknown key \"nodeId\""),
        ("  nodeID: a\n", "unexpected indentation"),
        ("- a\n", "list item outside a list"),
        ("token: \"abc\n", "unclosed quote"),
        ("endpoints: [a, b\n", "unclosed list"),
        ("token: a\ntoken: b\n", "token given twice"),
        ("just text\n", "expected key: value"),
    ])
    func refusesWhatItCannotRead(text: String, message: String) {
        let error = #expect(throws: AgentConfigFile.ParseError.self) { try AgentConfigFile.parse(text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
