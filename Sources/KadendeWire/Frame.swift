import NIOCore

/// One unit on the wire between agent and coordinator:
///
///     u32 length | u8 protocol version | u8 flags | u16 message type | payload (length - 4 bytes)
///
/// `length` counts everything after itself and is checked against the frame limit before a byte of the body is
/// buffered. Message types are append-only (see `MessageType`); flag bit 0 says the receiver must understand the
/// type, otherwise it may ignore it.
public struct Frame: Sendable, Hashable {
    public static let headerSize = 4
    public static let defaultMaxSize = 1 << 20

    public var version: UInt8
    public var flags: Flags
    public var type: UInt16
    public var payload: ByteBuffer

    public init(version: UInt8 = WireProtocol.version, flags: Flags, type: UInt16, payload: ByteBuffer) {
        self.version = version
        self.flags = flags
        self.type = type
        self.payload = payload
    }

    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The receiver must refuse the frame if it does not know its type.
        public static let required = Flags(rawValue: 1 << 0)
    }
}

public enum WireProtocol {
    /// The protocol version this build speaks. Version 1 is the first; a peer that speaks another is refused
    /// with `unsupported_version` rather than guessed at.
    public static let version: UInt8 = 1
}

/// Splits the byte stream into frames, refusing oversized and truncated ones. With an allowance, the limit is the
/// allowance's (it can change once a peer is authenticated) and what an unfinished frame holds is accounted for.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame
    private let fixedMaxFrameSize: Int
    private let allowance: FrameAllowance?

    public init(maxFrameSize: Int = Frame.defaultMaxSize) {
        self.fixedMaxFrameSize = maxFrameSize
        self.allowance = nil
    }

    public init(allowance: FrameAllowance) {
        self.fixedMaxFrameSize = allowance.maxFrameSize
        self.allowance = allowance
    }

    public var maxFrameSize: Int { allowance?.maxFrameSize ?? fixedMaxFrameSize }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let state = try decodeOne(context: context, buffer: &buffer)
        try allowance?.holding(state == .needMoreData ? buffer.readableBytes : 0, context: context)
        return state
    }

    private func decodeOne(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameSize else {
            throw WireError(.frameTooLarge, "frame of \(length) bytes exceeds the limit of \(maxFrameSize)")
        }
        guard length >= Frame.headerSize else {
            throw WireError(.malformedFrame, "frame of \(length) bytes is shorter than its header")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        // Every read below is within the `length` bytes just found to be there.
        guard let version = buffer.readInteger(as: UInt8.self), let flags = buffer.readInteger(as: UInt8.self),
              let type = buffer.readInteger(as: UInt16.self), let payload = buffer.readSlice(length: Int(length) - Frame.headerSize) else {
            throw WireError(.malformedFrame, "frame of \(length) bytes ends inside its header")
        }
        context.fireChannelRead(wrapInboundOut(Frame(version: version, flags: Frame.Flags(rawValue: flags), type: type, payload: payload)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        allowance?.release()
    }
}

public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame
    public init() {}

    public func encode(data frame: Frame, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(Frame.headerSize + frame.payload.readableBytes))
        out.writeInteger(frame.version)
        out.writeInteger(frame.flags.rawValue)
        out.writeInteger(frame.type)
        var payload = frame.payload
        out.writeBuffer(&payload)
    }
}
