import Hummingbird

/// A Cloud Storage JSON API error:
/// `{"error":{"code":N,"message":M,"errors":[{"message":M,"domain":"global","reason":R}]}}`.
struct GCSError: Error, Sendable {
    var status: Int
    var message: String
    var reason: String
    var locationType: String?
    var location: String?
    var retryAfter: Int?

    init(
        status: Int, message: String, reason: String, locationType: String? = nil, location: String? = nil,
        retryAfter: Int? = nil
    ) {
        self.status = status
        self.message = message
        self.reason = reason
        self.locationType = locationType
        self.location = location
        self.retryAfter = retryAfter
    }

    static func invalid(_ message: String) -> GCSError { GCSError(status: 400, message: message, reason: "invalid") }

    /// A missing required parameter, as Cloud Storage words it.
    static func required(_ parameter: String) -> GCSError {
        GCSError(status: 400, message: "Required parameter: \(parameter)", reason: "required", locationType: "parameter", location: parameter)
    }

    static func noSuchObject(bucket: String, name: String) -> GCSError {
        GCSError(status: 404, message: "No such object: \(bucket)/\(name)", reason: "notFound")
    }

    static let noSuchBucket = GCSError(status: 404, message: "The specified bucket does not exist.", reason: "notFound")

    static func invalidBucketName(_ name: String) -> GCSError {
        GCSError(status: 400, message: "Invalid bucket name: '\(name)'", reason: "invalid")
    }

    static let loginRequired = GCSError(
        status: 401, message: "Login Required", reason: "required", locationType: "header", location: "Authorization")

    static let invalidCredentials = GCSError(
        status: 401, message: "Invalid Credentials", reason: "authError", locationType: "header",
        location: "Authorization")

    static let insufficientPermissions = GCSError(
        status: 403, message: "Insufficient Permission", reason: "insufficientPermissions")

    static let preconditionFailed = GCSError(
        status: 412, message: "At least one of the pre-conditions you specified did not hold.",
        reason: "conditionNotMet", locationType: "header", location: "If-Match")

    static func tooLarge(_ limit: Int64) -> GCSError {
        GCSError(
            status: 413, message: "Upload too large: the simulator accepts objects of at most \(limit) bytes.",
            reason: "uploadTooLarge")
    }

    static let noSuchUpload = GCSError(status: 404, message: "No such upload session.", reason: "notFound")

    static let uploadCancelled = GCSError(
        status: 410, message: "The upload session was cancelled; start a new one.", reason: "gone")

    static let sessionBusy = GCSError(
        status: 503, message: "Another request is writing to this upload session; query its status and resume.",
        reason: "backendError", retryAfter: 1)

    static func internalError(_ detail: String) -> GCSError {
        GCSError(status: 500, message: "The simulator failed: \(detail)", reason: "backendError")
    }

    /// The answer of an injected fault (and of accept-then-fail).
    static func injected(status: Int, retryAfter: Int) -> GCSError {
        let retry = (status == 429 || status == 503) ? retryAfter : nil
        switch status {
        case 429:
            return GCSError(
                status: 429, message: "The rate of requests exceeds the rate limit. Please retry later.",
                reason: "rateLimitExceeded", retryAfter: retry)
        case 500: return GCSError(status: 500, message: "Backend Error", reason: "backendError")
        case 502: return GCSError(status: 502, message: "Bad Gateway", reason: "backendError")
        case 503: return GCSError(status: 503, message: "Backend Error", reason: "backendError", retryAfter: retry)
        case 504: return GCSError(status: 504, message: "Gateway Timeout", reason: "backendError")
        default:
            let reasons = [
                400: "invalid", 401: "authError", 403: "forbidden", 404: "notFound", 408: "requestTimeout",
                409: "conflict", 410: "gone", 412: "conditionNotMet", 413: "uploadTooLarge",
            ]
            return GCSError(
                status: status, message: "Injected error (HTTP \(status)).",
                reason: reasons[status] ?? (status >= 500 ? "backendError" : "invalid"))
        }
    }

    var envelope: JSON {
        let message = self.message + HeaderEcho.messageSuffix()
        var detail: [(String, JSON)] = [("message", .string(message)), ("domain", .string("global")), ("reason", .string(reason))]
        if let locationType { detail.append(("locationType", .string(locationType))) }
        if let location { detail.append(("location", .string(location))) }
        var members: [(String, JSON)] = [
            ("code", .int(status)),
            ("message", .string(message)),
            ("errors", .array([.object(detail)])),
        ]
        if let echo = HeaderEcho.member() { members.append(echo) }
        return .object([("error", .object(members))])
    }

    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=UTF-8"]
        if let retryAfter { headers[.retryAfterHeader] = String(retryAfter) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: envelope.byteBuffer()))
    }
}

/// An OAuth 2.0 token endpoint error: `{"error":"invalid_grant","error_description":"…"}` (400 unless told).
struct OAuthError: Error, Sendable {
    var status: Int = 400
    var error: String
    var description: String
    var retryAfter: Int?

    static func invalidGrant(_ description: String) -> OAuthError {
        OAuthError(error: "invalid_grant", description: description)
    }

    static func injected(status: Int, retryAfter: Int) -> OAuthError {
        let retry = (status == 429 || status == 503) ? retryAfter : nil
        switch status {
        case 429:
            return OAuthError(status: 429, error: "rate_limit_exceeded", description: "Rate limit exceeded.", retryAfter: retry)
        case 503:
            return OAuthError(
                status: 503, error: "temporarily_unavailable", description: "The service is temporarily unavailable.",
                retryAfter: retry)
        case 500...599:
            return OAuthError(status: status, error: "internal_failure", description: "Backend Error")
        default:
            return OAuthError(status: status, error: "invalid_request", description: "Injected error (HTTP \(status)).")
        }
    }

    func response() -> Response {
        var extra: HTTPFields = [:]
        if let retryAfter { extra[.retryAfterHeader] = String(retryAfter) }
        var members: [(String, JSON)] = [
            ("error", .string(error)), ("error_description", .string(description + HeaderEcho.messageSuffix())),
        ]
        if let echo = HeaderEcho.member() { members.append(echo) }
        return jsonResponse(.object(members), status: status, headers: extra)
    }
}
