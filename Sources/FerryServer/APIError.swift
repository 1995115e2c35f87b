import Hummingbird

/// `HTTPField.Name` (HTTPTypes is not imported directly).
typealias HeaderName = HTTPFields.Element.Name

/// An error answer in OpenAI's envelope: `{"error": {"message", "type", "param", "code"}}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    var type: String = "invalid_request_error"
    var param: String? = nil
    var code: String? = nil
    var headers: HTTPFields = [:]

    static func notFound(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .notFound, message: message, param: param)
    }

    static func badRequest(_ message: String, param: String?) -> APIError {
        APIError(status: .badRequest, message: message, param: param)
    }

    var response: Response {
        var response = payload.response
        for field in headers { response.headers.append(field) }
        return response
    }

    /// The answer without `headers`, as the response cache keeps it.
    var payload: Payload {
        let body = JSONValue.object([
            (
                "error",
                .object([
                    ("message", .string(message)), ("type", .string(type)), ("param", .string(param)),
                    ("code", .string(code)),
                ])
            )
        ])
        return Payload.json(body, status: status)
    }
}

extension Response {
    /// A JSON answer.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Payload.json(value, status: status).response
    }
}
