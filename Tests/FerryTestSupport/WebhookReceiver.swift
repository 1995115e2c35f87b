import Foundation
import NIOCore
import NIOPosix

/// A tiny HTTP/1.1 server on 127.0.0.1 that records every request it receives (method, path, body) and answers
/// each with `status` after `delay`: a stand-in for a chat webhook, working, failing or slow. Call `close()`.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Received: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: Data

        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    }

    private let channel: any Channel
    private let lock = NSLock()
    private var requests: [Received] = []
    public let port: Int

    /// - Parameters:
    ///   - status: the status of every answer.
    ///   - delay: how long each answer waits (a slow webhook).
    public init(status: Int = 200, delay: Duration = .zero) async throws {
        let box = RecorderBox()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.pipeline.addHandler(RequestHandler(status: status, delay: delay, record: { box.record?($0) }))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        box.record = { [weak self] received in self?.lock.withLock { self?.requests.append(received) } }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    public func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Every request received so far, in order.
    public var received: [Received] { lock.withLock { requests } }

    public func close() async {
        try? await channel.close()
    }
}

/// Lets the channel handlers, made before the receiver is, record into it.
private final class RecorderBox: @unchecked Sendable {
    var record: ((WebhookReceiver.Received) -> Void)?
}

/// Reads one request (head and `Content-Length` body), records it, answers, closes the connection.
private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let status: Int
    let delay: Duration
    let record: @Sendable (WebhookReceiver.Received) -> Void
    private var buffer: [UInt8] = []
    private var answered = false

    init(status: Int, delay: Duration, record: @escaping @Sendable (WebhookReceiver.Received) -> Void) {
        self.status = status
        self.delay = delay
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer += chunk.readBytes(length: chunk.readableBytes) ?? []
        guard !answered, let headEnd = find([13, 10, 13, 10]) else { return }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd + 4
        guard buffer.count >= bodyStart + length else { return }
        answered = true
        record(
            WebhookReceiver.Received(
                method: requestLine.first.map(String.init) ?? "", path: requestLine.dropFirst().first.map(String.init) ?? "",
                headers: headers, body: Data(buffer[bodyStart..<(bodyStart + length)])))
        let answer = "HTTP/1.1 \(status) Answer\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        let channel = context.channel
        let respond: @Sendable () -> Void = {
            channel.writeAndFlush(ByteBuffer(string: answer)).whenComplete { _ in channel.close(promise: nil) }
        }
        if delay > .zero {
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { respond() }
        } else {
            respond()
        }
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for index in 0...(buffer.count - pattern.count) where Array(buffer[index..<(index + pattern.count)]) == pattern {
            return index
        }
        return nil
    }
}
