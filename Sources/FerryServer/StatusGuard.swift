import FerryCore
import Foundation
import Hummingbird
import Logging

/// Runs in front of every route, matched or not: refuses bodies, methods other than GET and HEAD, and
/// requests without the token; turns every failure into a JSON error; adds the security headers; and
/// drops the body of HEAD answers.
struct StatusGuard: RouterMiddleware {
    typealias Context = StatusRequestContext

    let configuration: StatusServerConfiguration
    let requests: InFlightRequests
    let logger: Logger
    /// SHA-256 of the expected token: comparing digests takes the same time whatever the guess.
    private let tokenDigest: [UInt8]?

    /// Paths that answer without the token.
    static let openPaths: Set<String> = ["/healthz"]

    static let securityHeaders: [(HeaderName, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'"),
        (HeaderName("X-Content-Type-Options")!, "nosniff"),
        (HeaderName("X-Frame-Options")!, "DENY"),
        (HeaderName("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-store"),
    ]

    init(configuration: StatusServerConfiguration, requests: InFlightRequests, logger: Logger) {
        self.configuration = configuration
        self.requests = requests
        self.logger = logger
        self.tokenDigest = configuration.bearerToken.map { Array(SHA256Digest.hex($0).utf8) }
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let ticket = requests.begin(on: context.channel)
        defer { requests.end(ticket) }
        var request = request
        var response: Response
        if let refusal = await refuseBody(&request, context: context) {
            response = refusal
        } else if request.method != .get && request.method != .head {
            response =
                APIError(
                    status: .methodNotAllowed,
                    message:
                        "This is a read-only view: only GET and HEAD are allowed (got \(request.method.rawValue)).",
                    headers: [.allow: "GET, HEAD"]
                ).response
        } else if !Self.openPaths.contains(request.uri.path), !authorized(request) {
            response =
                APIError(
                    status: .unauthorized,
                    message: "Missing or invalid bearer token: send 'Authorization: Bearer <FERRY_STATUS_TOKEN>'.",
                    code: "invalid_api_key", headers: [.wwwAuthenticate: "Bearer realm=\"ferry\""]
                ).response
        } else {
            do {
                response = try await next(request, context)
            } catch let error as APIError {
                response = error.response
            } catch let error as HTTPError where error.status == .notFound {
                response =
                    APIError.notFound(
                        "No route for \(request.uri.path): the dashboard is at /; routes: docs/status-view.md."
                    ).response
            } catch let error as HTTPError {
                response = APIError(status: error.status, message: error.body ?? error.status.reasonPhrase).response
            } catch {
                // Never echo the underlying error: it may carry the database's absolute path.
                logger.error(
                    "status request failed", metadata: ["ferry.path": "\(request.uri.path)", "error": "\(error)"])
                response =
                    APIError(
                        status: .internalServerError,
                        message: "The state database could not be read; see the server log.",
                        type: "server_error"
                    ).response
            }
        }
        for (name, value) in Self.securityHeaders { response.headers[name] = value }
        if request.method == .head { response = response.createHeadResponse() }
        return response
    }

    /// A 413 answer (closing the connection) when the request carries more body than allowed; nil otherwise.
    private func refuseBody(_ request: inout Request, context: Context) async -> Response? {
        let limit = configuration.maxRequestBodyBytes
        if request.headers[.transferEncoding] == nil {
            guard let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit else {
                return nil
            }
        } else if (try? await request.collectBody(upTo: limit)) != nil {
            // A chunked body within the limit: read and dropped.
            return nil
        }
        context.closeAfterResponse()
        var response = APIError(
            status: .contentTooLarge, message: "Request bodies are limited to \(limit) bytes; this view reads none."
        ).response
        response.headers[.connection] = "close"
        return response
    }

    private func authorized(_ request: Request) -> Bool {
        guard let tokenDigest else { return true }
        guard let header = request.headers[.authorization] else { return false }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let offered = Array(SHA256Digest.hex(String(parts[1]).trimmingCharacters(in: .whitespaces)).utf8)
        var difference: UInt8 = 0
        for (a, b) in zip(offered, tokenDigest) { difference |= a ^ b }
        return difference == 0 && offered.count == tokenDigest.count
    }
}
