import AsyncHTTPClient
import Foundation
import NIOCore

/// Where a notification goes: an http(s) URL. Webhook URLs often carry a token in their path or query (Slack,
/// Teams), so only `scheme://host[:port]` is ever shown (`description`).
public struct WebhookTarget: Sendable, Hashable, CustomStringConvertible {
    let url: String
    /// `https://hooks.slack.com`: what messages, logs and errors show of the URL.
    public let description: String

    /// - Throws: `WebhookTargetError` when `text` is not an absolute http(s) URL with a host; its message shows
    ///   no more of the URL than its scheme.
    public init(_ text: String) throws(WebhookTargetError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw WebhookTargetError(message: "is not a URL (expected http://… or https://…)")
        }
        guard scheme == "http" || scheme == "https" else {
            throw WebhookTargetError(message: "uses the scheme '\(scheme)'; only http and https are accepted")
        }
        guard let host = components.host, !host.isEmpty else {
            throw WebhookTargetError(message: "has no host (expected \(scheme)://HOST/…)")
        }
        guard !trimmed.hasControlCharacters, !trimmed.contains(" ") else {
            throw WebhookTargetError(message: "contains spaces or control characters")
        }
        url = trimmed
        let shownHost = host.contains(":") ? "[\(host)]" : host
        description = "\(scheme)://\(shownHost)" + (components.port.map { ":\($0)" } ?? "")
    }

    /// `text` with the URL (and its path, which may be a token) replaced by `description`.
    func scrub(_ text: String) -> String {
        var text = text.replacingOccurrences(of: url, with: description)
        if let components = URLComponents(string: url) {
            let path = components.percentEncodedPath
            if path.count > 1 { text = text.replacingOccurrences(of: path, with: "/…") }
            if let query = components.percentEncodedQuery, !query.isEmpty {
                text = text.replacingOccurrences(of: query, with: "…")
            }
        }
        return text
    }
}

/// A notification URL that cannot be used; says why without showing the URL.
public struct WebhookTargetError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Posts JSON to webhooks over one process-wide HTTP client (never shut down, like `HTTPClient.shared`, so there is
/// nothing to shut down). A delivery either succeeds (2xx) or fails with a short reason that never contains the
/// URL; it never throws, and never takes longer than `timeout`, connecting and reading the answer included.
/// Redirects are not followed (the token in a URL would travel on), and a refused connection fails at once.
public struct WebhookClient: Sendable {
    public let timeout: Duration

    private static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// - Parameter timeout: the whole delivery, from connecting to the end of the answer.
    public init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// Posts `json` to `target`.
    /// - Returns: nil when delivered (2xx), else why not (`HTTP 500`, `timed out after 5s`, …).
    public func post(_ json: Data, to target: WebhookTarget, userAgent: String = "ferry") async -> String? {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: userAgent)
        request.body = .bytes(ByteBuffer(bytes: json))
        do {
            let response = try await Self.httpClient.execute(request, deadline: .now() + TimeAmount(timeout), logger: nil)
            _ = try? await response.body.collect(upTo: 64 << 10)
            guard (200..<300).contains(Int(response.status.code)) else {
                return "HTTP \(response.status.code)"
            }
            return nil
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout
            || error == .connectTimeout
        {
            return "timed out after \(timeout.formatted(.units(allowed: [.seconds], width: .narrow)))"
        } catch {
            return target.scrub(String(describing: error))
        }
    }
}
