import KadendeAPI
import NIOCore
import ServiceLifecycle
import class Foundation.JSONEncoder

/// Server-sent events (`text/event-stream`): one frame per event (`id`, `event` its kind, `data` its JSON), and a
/// comment every 15 s so that proxies and browsers keep an idle stream open.
enum ServerSentEvents {
    static let keepAlive: Duration = .seconds(15)

    static func frames(_ events: AsyncStream<APIEvent>) -> AsyncStream<ByteBuffer> {
        let (frames, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = APIDates.encoding
        encoder.outputFormatting = [.sortedKeys]
        // Runs in the request's task context, so a graceful shutdown of the server reaches it: the stream ends and
        // the server is not held open by clients that follow events.
        let forward = Task {
            await withGracefulShutdownHandler {
                continuation.yield(ByteBuffer(string: "retry: 2000\n\n"))
                for await event in events {
                    guard let json = try? encoder.encode(event) else { continue }
                    continuation.yield(ByteBuffer(string: "id: \(event.seq)\nevent: \(event.kind.rawValue)\ndata: \(String(decoding: json, as: UTF8.self))\n\n"))
                }
                continuation.finish()
            } onGracefulShutdown: {
                continuation.finish()
            }
        }
        let ticks = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                continuation.yield(ByteBuffer(string: ": keep-alive\n\n"))
            }
        }
        // The client went away: the writer stops reading, the stream ends, and both producers stop.
        continuation.onTermination = { _ in
            forward.cancel()
            ticks.cancel()
        }
        return frames
    }
}
