import Foundation
import KadendeWire
import NIOCore
import NIOEmbedded
import Testing

@Suite struct FrameCodecTests {
    func channel(maxFrameSize: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        return channel
    }

    @Test func roundTripsEveryMessage() throws {
        let messages: [WireMessage] = [
            .hello(Hello(nodeID: "n-0123456789abcdef", agentVersion: "1")),
            .heartbeat(Heartbeat(nodeID: "n-0123456789abcdef", seq: 7, sentAt: Date(timeIntervalSince1970: 1000),
                                 probes: [ProbeResult(name: "http", status: .critical, output: "503")])),
            .enrol(Enrol(nodeID: "n-0123456789abcdef", token: "kdt_x", csrDER: Data([1, 2, 3]))),
            .refused(Refused(code: .tokenUsed, reason: "used")),
            .ack(Ack(revision: 2, outcome: .applied)),
            .welcome(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(timeIntervalSince1970: 1000),
                             keepAliveMillis: 4000)),
            .keepAlive(KeepAlive()),
        ]
        let channel = try channel(maxFrameSize: 1 << 20)
        for message in messages {
            try channel.writeOutbound(WireCodec.encode(message))
            let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
            try channel.writeInbound(bytes)
            let frame = try #require(try channel.readInbound(as: Frame.self))
            #expect(try WireCodec.decode(frame) == message)
        }
    }

    @Test func oversizedFrameIsRefusedBeforeItIsBuffered() throws {
        let channel = try channel(maxFrameSize: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(4096))
        buffer.writeBytes([1, 1, 0, 5])  // only the header: the length alone must be enough to refuse
        let error = #expect(throws: WireError.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .frameTooLarge)
    }

    @Test func frameShorterThanItsHeaderIsMalformed() throws {
        let channel = try channel()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(2))
        buffer.writeBytes([1, 1])
        let error = #expect(throws: WireError.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func partialFramesWaitForTheRest() throws {
        let channel = try channel()
        var bytes = try #require(try encoded(.bye(Bye(reason: "done"))))
        let head = bytes.readSlice(length: 6)!
        try channel.writeInbound(head)
        #expect(try channel.readInbound(as: Frame.self) == nil)
        try channel.writeInbound(bytes)
        #expect(try channel.readInbound(as: Frame.self) != nil)
    }

    @Test func garbageBodyIsMalformed() {
        let frame = Frame(flags: .required, type: MessageType.heartbeat.rawValue, payload: ByteBuffer(string: "\u{0}garbage"))
        let error = #expect(throws: WireError.self) { try WireCodec.decode(frame) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func missingFieldIsMalformed() {
        let frame = Frame(flags: .required, type: MessageType.heartbeat.rawValue, payload: ByteBuffer(string: #"{"seq": 1}"#))
        let error = #expect(throws: WireError.self) { try WireCodec.decode(frame) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func unknownOptionalMessageIsIgnored() throws {
        let frame = Frame(flags: [], type: 999, payload: ByteBuffer(string: "{}"))
        #expect(try WireCodec.decode(frame) == .ignored(type: 999))
    }

    /// Agents that predate keep-alives ignore them, and their silence limit comes from the welcome or not at all.
    @Test func keepAlivesAreOptionalAndTheSilenceLimitIsThreeOfThem() throws {
        #expect(try WireCodec.encode(.keepAlive(KeepAlive())).flags.contains(.required) == false)
        let welcome = Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(), keepAliveMillis: 4000)
        #expect(welcome.silenceLimitMillis == 12_000)
        #expect(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date()).silenceLimitMillis == nil)
        #expect(Welcome(coordinatorID: "c", heartbeatIntervalMillis: 1000, serverTime: Date(), keepAliveMillis: 0).silenceLimitMillis == 300,
                "a keep-alive below 100 ms counts as 100 ms")
    }

    @Test func unknownRequiredMessageIsRefused() {
        let frame = Frame(flags: .required, type: 999, payload: ByteBuffer(string: "{}"))
        let error = #expect(throws: WireError.self) { try WireCodec.decode(frame) }
        #expect(error?.code == .unknownMessage)
    }

    @Test func unknownFieldsAreIgnored() throws {
        let body = #"{"reason": "bye", "newerField": {"x": 1}}"#
        let frame = Frame(flags: [], type: MessageType.bye.rawValue, payload: ByteBuffer(string: body))
        #expect(try WireCodec.decode(frame) == .bye(Bye(reason: "bye")))
    }

    @Test func foreignProtocolVersionIsRefused() {
        let frame = Frame(version: 9, flags: .required, type: MessageType.hello.rawValue, payload: ByteBuffer(string: "{}"))
        let error = #expect(throws: WireError.self) { try WireCodec.decode(frame) }
        #expect(error?.code == .unsupportedVersion)
    }

    @Test func unknownRefusalCodesDecodeAsOther() throws {
        let frame = Frame(flags: .required, type: MessageType.refused.rawValue, payload: ByteBuffer(string: #"{"code": "from_the_future", "reason": "x"}"#))
        #expect(try WireCodec.decode(frame) == .refused(Refused(code: .other, reason: "x")))
    }

    private func encoded(_ message: WireMessage) throws -> ByteBuffer? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        try channel.writeOutbound(WireCodec.encode(message))
        return try channel.readOutbound(as: ByteBuffer.self)
    }
}
