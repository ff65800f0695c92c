import NIOCore
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: the agent must not carry ICU's data
#else
import Foundation
#endif

/// Maps messages to frames and back. Payloads are JSON objects: fields a receiver does not know are ignored and
/// new fields are added as optionals, so a message type can grow without a new number; the frame header's
/// version and type number carry everything else.
public enum WireCodec {
    public static func encode(_ message: WireMessage, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> Frame {
        let (type, body): (MessageType, Data)
        switch message {
        case .hello(let m): (type, body) = (.hello, try encoder.encode(m))
        case .welcome(let m): (type, body) = (.welcome, try encoder.encode(m))
        case .enrol(let m): (type, body) = (.enrol, try encoder.encode(m))
        case .enrolled(let m): (type, body) = (.enrolled, try encoder.encode(m))
        case .heartbeat(let m): (type, body) = (.heartbeat, try encoder.encode(m))
        case .push(let m): (type, body) = (.push, try encoder.encode(m))
        case .ack(let m): (type, body) = (.ack, try encoder.encode(m))
        case .bye(let m): (type, body) = (.bye, try encoder.encode(m))
        case .refused(let m): (type, body) = (.refused, try encoder.encode(m))
        case .renew(let m): (type, body) = (.renew, try encoder.encode(m))
        case .renewed(let m): (type, body) = (.renewed, try encoder.encode(m))
        case .runCommand(let m): (type, body) = (.runCommand, try encoder.encode(m))
        case .commandResult(let m): (type, body) = (.commandResult, try encoder.encode(m))
        case .keepAlive(let m): (type, body) = (.keepAlive, try encoder.encode(m))
        case .ignored(let t): throw WireError(.unknownMessage, "cannot send unknown message type \(t)")
        }
        return Frame(flags: type.isRequired ? .required : [], type: type.rawValue, payload: allocator.buffer(bytes: body))
    }

    /// Decodes a frame. An unknown type marked required, a foreign protocol version or a body that does not
    /// parse is a `WireError`; an unknown optional type decodes to `.ignored`.
    public static func decode(_ frame: Frame) throws(WireError) -> WireMessage {
        guard frame.version == WireProtocol.version else {
            throw WireError(.unsupportedVersion, "protocol version \(frame.version) is not supported (this side speaks \(WireProtocol.version))")
        }
        guard let type = MessageType(rawValue: frame.type) else {
            if frame.flags.contains(.required) {
                throw WireError(.unknownMessage, "required message type \(frame.type) is not known to this version")
            }
            return .ignored(type: frame.type)
        }
        let body = Data(frame.payload.readableBytesView)
        let message = try decodeBody(type, body)
        try message.validate()
        return message
    }

    private static func decodeBody(_ type: MessageType, _ body: Data) throws(WireError) -> WireMessage {
        do {
            switch type {
            case .hello: return .hello(try decoder.decode(Hello.self, from: body))
            case .welcome: return .welcome(try decoder.decode(Welcome.self, from: body))
            case .enrol: return .enrol(try decoder.decode(Enrol.self, from: body))
            case .enrolled: return .enrolled(try decoder.decode(Enrolled.self, from: body))
            case .heartbeat: return .heartbeat(try decoder.decode(Heartbeat.self, from: body))
            case .push: return .push(try decoder.decode(Push.self, from: body))
            case .ack: return .ack(try decoder.decode(Ack.self, from: body))
            case .bye: return .bye(try decoder.decode(Bye.self, from: body))
            case .refused: return .refused(try decoder.decode(Refused.self, from: body))
            case .renew: return .renew(try decoder.decode(Renew.self, from: body))
            case .renewed: return .renewed(try decoder.decode(Renewed.self, from: body))
            case .runCommand: return .runCommand(try decoder.decode(RunCommand.self, from: body))
            case .commandResult: return .commandResult(try decoder.decode(CommandResult.self, from: body))
            case .keepAlive: return .keepAlive(try decoder.decode(KeepAlive.self, from: body))
            }
        } catch {
            throw WireError(.malformedFrame, "\(type) body does not parse: \(Self.summary(of: error))")
        }
    }

    private static func summary(of error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx), DecodingError.dataCorrupted(let ctx):
            ctx.codingPath.isEmpty ? "not a JSON object" : "bad field \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "not a JSON object"
        }
    }

    // Configured once, then only read: safe to share.
    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .millisecondsSince1970
        return e
    }()

    private static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return d
    }()
}
