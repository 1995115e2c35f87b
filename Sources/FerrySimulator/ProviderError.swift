import Foundation
import Hummingbird

typealias HeaderName = HTTPFields.Element.Name

extension HeaderName {
    static let retryAfterHeader = HeaderName("Retry-After")!
    static let requestIDHeader = HeaderName("x-request-id")!
    static let apiKeyHeader = HeaderName("api-key")!
    static let xAPIKeyHeader = HeaderName("x-api-key")!
    static let anthropicVersionHeader = HeaderName("anthropic-version")!
    static let anthropicBetaHeader = HeaderName("anthropic-beta")!
    static let locationHeader = HeaderName("Location")!
}

/// An error answer, rendered in the envelope of the flavor that is being spoken.
struct ProviderError: Error, Sendable {
    var status: Int
    var message: String
    /// OpenAI `type`.
    var type: String
    var param: String?
    /// OpenAI `code` (may be nil).
    var code: String?
    /// Azure `error.code`.
    var azureCode: String
    var retryAfter: Int?

    static func invalidRequest(_ message: String, param: String?, code: String? = nil) -> ProviderError {
        ProviderError(
            status: 400, message: message, type: "invalid_request_error", param: param, code: code,
            azureCode: "invalidPayload"
        )
    }

    static func notFound(_ id: String, flavor: SimulatorFlavor, kind: String = "File") -> ProviderError {
        let message =
            flavor == .openai ? "No such \(kind) object: \(id)" : "\(kind) with id '\(id)' not found."
        return ProviderError(
            status: 404, message: message, type: "invalid_request_error", param: "id", code: nil, azureCode: "notFound"
        )
    }

    static func unauthorized(_ flavor: SimulatorFlavor) -> ProviderError {
        switch flavor {
        case .openai:
            return ProviderError(
                status: 401,
                message:
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                type: "invalid_request_error", param: nil, code: nil, azureCode: "401"
            )
        case .gcs:
            return ProviderError(
                status: 401, message: GCSError.loginRequired.message, type: "invalid_request_error", param: nil,
                code: nil, azureCode: "401")
        case .gemini:
            // Google answers a request without a key with 403 PERMISSION_DENIED.
            return ProviderError(
                status: 403,
                message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                type: "PERMISSION_DENIED", param: nil, code: nil, azureCode: "403")
        case .anthropic:
            return ProviderError(
                status: 401, message: "x-api-key header is required", type: "authentication_error", param: nil,
                code: nil, azureCode: "401")
        case .azure:
            return ProviderError(
                status: 401,
                message:
                    "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
                type: "invalid_request_error", param: nil, code: nil, azureCode: "401"
            )
        }
    }

    static let missingAPIVersion = ProviderError(
        status: 400, message: "Missing required query parameter: api-version", type: "invalid_request_error",
        param: "api-version", code: nil, azureCode: "BadRequest"
    )

    static func tooLarge(_ message: String, param: String = "file") -> ProviderError {
        ProviderError(
            status: 413, message: message, type: "invalid_request_error", param: param, code: nil,
            azureCode: "invalidPayload"
        )
    }

    static let internalError = ProviderError.injected(status: 500, retryAfter: 0)

    /// The answer used for injected faults and for `acceptThenFail`.
    static func injected(status: Int, retryAfter: Int) -> ProviderError {
        let retry = (status == 429 || status == 503 || status == 529) ? retryAfter : nil
        switch status {
        case 429:
            return ProviderError(
                status: 429, message: "Rate limit reached for requests. Please try again in \(retryAfter)s.",
                type: "requests", param: nil, code: "rate_limit_exceeded", azureCode: "429", retryAfter: retry
            )
        case 500:
            return ProviderError(
                status: 500, message: "The server had an error while processing your request. Sorry about that!",
                type: "server_error", param: nil, code: nil, azureCode: "internalFailure"
            )
        case 502:
            return ProviderError(
                status: 502, message: "Bad gateway.", type: "server_error", param: nil, code: nil,
                azureCode: "BadGateway"
            )
        case 503:
            return ProviderError(
                status: 503, message: "The server is overloaded or not ready yet.", type: "server_error", param: nil,
                code: nil, azureCode: "serviceUnavailable", retryAfter: retry
            )
        case 529:
            return ProviderError(
                status: 529, message: "Overloaded", type: "overloaded_error", param: nil, code: nil,
                azureCode: "529", retryAfter: retry)
        case 504:
            return ProviderError(
                status: 504, message: "Gateway timeout.", type: "server_error", param: nil, code: nil,
                azureCode: "GatewayTimeout"
            )
        default:
            let isServer = status >= 500
            return ProviderError(
                status: status, message: "Injected error (HTTP \(status)).",
                type: isServer ? "server_error" : "invalid_request_error", param: nil, code: nil,
                azureCode: String(status)
            )
        }
    }

    func envelope(_ flavor: SimulatorFlavor) -> JSON {
        switch flavor {
        case .openai:
            var members: [(String, JSON)] = [
                ("message", .string(message + HeaderEcho.messageSuffix())),
                ("type", .string(type)),
                ("param", .optionalString(param)),
                ("code", .optionalString(code)),
            ]
            if let echo = HeaderEcho.member() { members.append(echo) }
            return .object([("error", .object(members))])
        case .azure:
            var members: [(String, JSON)] = [
                ("code", .string(azureCode)), ("message", .string(message + HeaderEcho.messageSuffix())),
            ]
            if let echo = HeaderEcho.member() { members.append(echo) }
            return .object([("error", .object(members))])
        case .anthropic:
            var members: [(String, JSON)] = [
                ("type", .string(anthropicType)), ("message", .string(message + HeaderEcho.messageSuffix())),
            ]
            if let echo = HeaderEcho.member() { members.append(echo) }
            return .object([
                ("type", .string("error")), ("error", .object(members)),
                ("request_id", .string("req_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())),
            ])
        case .gemini:
            return geminiEnvelope
        case .gcs:
            var error = GCSError.injected(status: status, retryAfter: retryAfter ?? 0)
            error.message = message
            return error.envelope
        }
    }

    func response(_ flavor: SimulatorFlavor) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfterHeader] = String(retryAfter) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: envelope(flavor).byteBuffer())
        )
    }
}

func jsonResponse(_ json: JSON, status: Int = 200, headers extra: HTTPFields = [:]) -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extra)
    return Response(
        status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: json.byteBuffer())
    )
}

extension ProviderError {
    /// The error's `error.type` in Anthropic's envelope, from its status.
    var anthropicType: String {
        switch status {
        case 400: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 529: return "overloaded_error"
        case 500...: return "api_error"
        default: return "invalid_request_error"
        }
    }
}
