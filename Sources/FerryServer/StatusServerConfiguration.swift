import Foundation
import Logging

/// How the read-only status server listens and what it allows.
public struct StatusServerConfiguration: Sendable {
    /// Address to bind. Loopback unless told otherwise.
    public var host: String
    /// Port to bind; 0 picks a free one (`StatusServer.listeningPort()` returns it).
    public var port: Int
    /// When set, every route except `/healthz` needs `Authorization: Bearer <token>`.
    public var bearerToken: String?
    /// Largest request body accepted (the server reads none; larger ones get 413 and the connection is closed).
    public var maxRequestBodyBytes: Int
    /// Largest total size of the request headers.
    public var maxHeaderBytes: Int
    /// A connection with no traffic (or a request that stops arriving) for this long is closed.
    public var idleTimeout: Duration
    /// Most connections open at once; further ones wait in the accept backlog.
    public var maxConnections: Int
    /// How long a graceful shutdown lets requests in flight finish before it closes their connections.
    public var drainTimeout: Duration
    /// Most placements listed on the HTML dashboard (the ones needing attention first); the JSON API lists all.
    public var dashboardPlacementLimit: Int
    /// Runs listed on the HTML dashboard.
    public var dashboardRunLimit: Int
    /// How long an answer may be reused while the database files are unchanged; zero turns the cache off.
    public var cacheTTL: Duration
    /// Diagnostics on stderr (request errors, lifecycle). Never carries the token.
    public var logLevel: Logger.Level
    /// The wall clock, for "ago" times on the dashboard; tests pass a fixed one.
    public var now: @Sendable () -> Date
    /// Placements waiting out their backoff, from the reconcile loop in the same process (in memory, not in the
    /// store); `ferry serve` has none.
    public var retries: @Sendable () -> [PlacementRetryStatus] = { [] }

    /// - Parameters:
    ///   - host: address to bind (default `127.0.0.1`).
    ///   - port: port to bind (default 8080; 0 picks a free one).
    ///   - bearerToken: optional token every route except `/healthz` requires (`FERRY_STATUS_TOKEN`).
    public init(
        host: String = "127.0.0.1", port: Int = 8080, bearerToken: String? = nil, maxRequestBodyBytes: Int = 16 * 1024,
        maxHeaderBytes: Int = 32 * 1024, idleTimeout: Duration = .seconds(30), maxConnections: Int = 256,
        drainTimeout: Duration = .seconds(5), dashboardPlacementLimit: Int = 200, dashboardRunLimit: Int = 15,
        cacheTTL: Duration = .seconds(1), logLevel: Logger.Level = .warning,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.host = host
        self.port = port
        self.bearerToken = bearerToken.flatMap { $0.isEmpty ? nil : $0 }
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
        self.dashboardPlacementLimit = dashboardPlacementLimit
        self.dashboardRunLimit = dashboardRunLimit
        self.cacheTTL = cacheTTL
        self.logLevel = logLevel
        self.now = now
    }

    /// Parses a `--listen` value: `HOST:PORT`, `[IPV6]:PORT`, or a bare `PORT` (on 127.0.0.1).
    /// - Throws: `StatusServerError` naming the value when it is not one of these.
    public static func parseListen(_ value: String) throws -> (host: String, port: Int) {
        func port(_ text: Substring) throws -> Int {
            guard let number = Int(text), (0...65535).contains(number) else {
                throw StatusServerError.invalidListenAddress(value)
            }
            return number
        }
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]"), value[value.index(after: close)...].hasPrefix(":") else {
                throw StatusServerError.invalidListenAddress(value)
            }
            let host = String(value[value.index(after: value.startIndex)..<close])
            guard !host.isEmpty else { throw StatusServerError.invalidListenAddress(value) }
            return (host, try port(value[value.index(close, offsetBy: 2)...]))
        }
        guard let colon = value.lastIndex(of: ":") else { return ("127.0.0.1", try port(value[...])) }
        let host = String(value[..<colon])
        guard !host.isEmpty, !host.contains(":") else { throw StatusServerError.invalidListenAddress(value) }
        return (host, try port(value[value.index(after: colon)...]))
    }
}

/// Errors of the status server's configuration and lifecycle.
public struct StatusServerError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Kind: Equatable, Sendable {
        case invalidListenAddress(String)
        case alreadyRun
        case stoppedBeforeListening
    }

    private let kind: Kind

    /// A `--listen` value that is not `HOST:PORT`, `[IPV6]:PORT` or `PORT`.
    public static func invalidListenAddress(_ value: String) -> Self { .init(kind: .invalidListenAddress(value)) }
    /// `run()` was called on a server that has already run (an instance runs once; make a new one).
    public static let alreadyRun = Self(kind: .alreadyRun)
    /// The server stopped (or failed to bind) before it was listening.
    public static let stoppedBeforeListening = Self(kind: .stoppedBeforeListening)

    public var description: String {
        switch kind {
        case .invalidListenAddress(let value):
            return "invalid listen address '\(value)': use HOST:PORT, [IPV6]:PORT or PORT (e.g. 127.0.0.1:8080)"
        case .alreadyRun: return "the status server has already run: create a new one"
        case .stoppedBeforeListening: return "the status server stopped before it was listening"
        }
    }
}
