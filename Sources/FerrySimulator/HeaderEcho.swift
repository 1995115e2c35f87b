import Hummingbird

/// The request headers a misbehaving provider (or a proxy in front of it) copies into its error bodies,
/// credentials included. Set per request by the provider pipelines while `FaultPlan.echoRequestHeaders` is on;
/// every error envelope built during that request (OpenAI, Azure, Cloud Storage, OAuth) then carries them.
enum HeaderEcho {
    struct Header: Sendable {
        var name: String
        var value: String
    }

    @TaskLocal static var headers: [Header]?

    static func capture(_ request: Request) -> [Header] {
        request.headers.map { Header(name: $0.name.canonicalName, value: $0.value) }
    }

    /// Appended to an error message: ` Request headers: authorization: Bearer …; api-key: …`.
    static func messageSuffix() -> String {
        guard let headers, !headers.isEmpty else { return "" }
        return " Request headers: " + headers.map { "\($0.name): \($0.value)" }.joined(separator: "; ")
    }

    /// The `request_headers` member added next to the message (a JSON object, names as sent).
    static func member() -> (String, JSON)? {
        guard let headers else { return nil }
        return ("request_headers", .object(headers.map { ($0.name, .string($0.value)) }))
    }
}
