import Hummingbird
import NIOCore

/// A finished answer of a data route: what the response cache keeps.
struct Payload: Sendable {
    var status: HTTPResponse.Status
    var contentType: String
    var body: ByteBuffer

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Payload {
        Payload(status: status, contentType: "application/json", body: value.byteBuffer(suffix: "\n"))
    }

    static func text(_ text: String, contentType: String, status: HTTPResponse.Status = .ok) -> Payload {
        Payload(status: status, contentType: contentType, body: ByteBuffer(string: text))
    }

    /// With an explicit Content-Length, which HEAD answers keep.
    var response: Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: body))
    }
}
