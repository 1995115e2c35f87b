import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A small Cloud Storage JSON API stand-in on 127.0.0.1 (media and resumable uploads, list, get, download,
/// delete, an OAuth2 token endpoint), with the few faults the GCS client tests need.
/// `FerrySimulator` speaks only OpenAI and Azure; this covers Vertex AI until it grows a GCS flavor.
final class FakeGCS: @unchecked Sendable {
    struct StoredObject {
        var data: [UInt8]
        var generation: Int
        var created: String
    }

    struct Session {
        var bucket: String
        var name: String
        var total: Int64
        var received: [UInt8] = []
    }

    /// Faults and behaviours a test switches on.
    struct Behaviour {
        /// Statuses answered (without effect) to the next requests of a kind: "media", "resumable-start",
        /// "resumable-put", "list", "token".
        var failNext: [String: [Int]] = [:]
        /// The next media upload stores the object and then answers 500 (as if the answer was lost).
        var storeThenFailNext = false
        /// The next resumable data PUT keeps only this many bytes, then answers 503.
        var keepOnlyOnNextPut: Int?
        /// Every list page answers this `nextPageToken` (a server that never advances).
        var stuckPageToken: String?
        /// The first list page is empty but points further.
        var emptyFirstPage = false
        /// When set, requests must carry `Authorization: Bearer` with one of the issued tokens.
        var requireToken = false
    }

    private let lock = NSLock()
    private var buckets: [String: [String: StoredObject]] = [:]
    private var sessions: [String: Session] = [:]
    private var nextGeneration = 1
    private var issuedTokens: [String] = []
    private var behaviour = Behaviour()
    private(set) var requestLog: [String] = []
    private(set) var assertions: [String] = []
    private var task: Task<Void, Never>?
    private(set) var port = 0

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var tokenURL: String { baseURL + "/token" }

    func configure(_ change: (inout Behaviour) -> Void) { lock.withLock { change(&behaviour) } }
    func object(_ bucket: String, _ name: String) -> [UInt8]? { lock.withLock { buckets[bucket]?[name]?.data } }
    func names(_ bucket: String) -> [String] { lock.withLock { (buckets[bucket] ?? [:]).keys.sorted() } }
    func count(_ kind: String) -> Int { lock.withLock { requestLog.filter { $0 == kind }.count } }
    var tokensIssued: [String] { lock.withLock { issuedTokens } }
    var jwtAssertions: [String] { lock.withLock { assertions } }

    func seed(_ bucket: String, _ name: String, _ data: [UInt8]) {
        lock.withLock {
            buckets[bucket, default: [:]][name] = StoredObject(
                data: data, generation: nextGeneration, created: "2024-05-01T12:00:00.250Z"
            )
            nextGeneration += 1
        }
    }

    func start() async throws {
        let router = Router()
        router.on("**", method: .get) { request, _ in await self.handle(request) }
        router.on("**", method: .post) { request, _ in await self.handle(request) }
        router.on("**", method: .put) { request, _ in await self.handle(request) }
        router.on("**", method: .delete) { request, _ in await self.handle(request) }
        var logger = Logger(label: "ferry.tests.fake-gcs")
        logger.logLevel = .critical
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        task = Task { try? await app.run() }
        for await bound in stream {
            port = bound
            break
        }
    }

    func stop() async {
        task?.cancel()
        await task?.value
    }

    // MARK: Handling

    private func handle(_ request: Request) async -> Response {
        let body = (try? await request.body.collect(upTo: 64 << 20)).map { Array($0.readableBytesView) } ?? []
        let rawPath = request.uri.path
        let query = Self.query(request.uri.query)
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        let method = request.method.rawValue
        if rawPath == "/token" { return token(body) }
        if behaviour(\.requireToken) {
            let presented = request.headers[.authorization] ?? ""
            guard presented.hasPrefix("Bearer "), tokensIssued.contains(String(presented.dropFirst(7))) else {
                return Self.error(401, "Invalid Credentials")
            }
        }
        // /storage/v1/b/{bucket}/o[/{object}]  and  /upload/storage/v1/b/{bucket}/o
        if segments.count >= 6, segments[1] == "storage", segments[3] == "b", segments[5] == "o" {
            let bucket = segments[4]
            if segments.count == 6, method == "GET" { return list(bucket, query) }
            if segments.count == 7 {
                let name = segments[6]
                switch method {
                case "GET": return query["alt"] == "media" ? download(bucket, name) : metadata(bucket, name)
                case "DELETE": return delete(bucket, name)
                default: break
                }
            }
        }
        if segments.count == 7, segments[1] == "upload", segments[4] == "b", segments[6] == "o" {
            let bucket = segments[5]
            if method == "PUT", let id = query["upload_id"] {
                return resumablePut(id, contentRange: request.headers[HTTPField.Name("Content-Range")!], body: body)
            }
            if method == "POST", query["uploadType"] == "media", let name = query["name"] {
                return media(bucket, name, ifGenerationMatch: query["ifGenerationMatch"], body: body)
            }
            if method == "POST", query["uploadType"] == "resumable", let name = query["name"] {
                let total = Int64(request.headers[HTTPField.Name("X-Upload-Content-Length")!] ?? "") ?? -1
                return resumableStart(bucket, name, total: total, ifGenerationMatch: query["ifGenerationMatch"])
            }
        }
        return Self.error(400, "unsupported request \(method) \(rawPath)")
    }

    private func behaviour<T>(_ keyPath: KeyPath<Behaviour, T>) -> T { lock.withLock { behaviour[keyPath: keyPath] } }

    /// Logs the request kind and pops an injected failure for it, if any.
    private func injected(_ kind: String) -> Response? {
        lock.withLock {
            requestLog.append(kind)
            guard var statuses = behaviour.failNext[kind], !statuses.isEmpty else { return nil }
            let status = statuses.removeFirst()
            behaviour.failNext[kind] = statuses
            return Self.error(status, "Injected \(status)")
        }
    }

    private func list(_ bucket: String, _ query: [String: String]) -> Response {
        if let failure = injected("list") { return failure }
        let prefix = query["prefix"] ?? ""
        let maxResults = Int(query["maxResults"] ?? "") ?? 1000
        let (names, stuck, emptyFirst) = lock.withLock {
            (
                (buckets[bucket] ?? [:]).keys.filter { $0.hasPrefix(prefix) }.sorted(), behaviour.stuckPageToken,
                behaviour.emptyFirstPage
            )
        }
        if emptyFirst, query["pageToken"] == nil {
            configure { $0.emptyFirstPage = false }
            return Self.json(["kind": "storage#objects", "nextPageToken": "0"])
        }
        let start = Int(query["pageToken"] ?? "0") ?? 0
        let page = Array(names.dropFirst(start).prefix(maxResults))
        var result: [String: Any] = ["kind": "storage#objects"]
        if !page.isEmpty { result["items"] = page.compactMap { objectJSON(bucket, $0) } }
        if let stuck {
            result["nextPageToken"] = stuck
        } else if start + page.count < names.count {
            result["nextPageToken"] = String(start + page.count)
        }
        return Self.json(result)
    }

    private func metadata(_ bucket: String, _ name: String) -> Response {
        requestLog(append: "get")
        guard let json = objectJSON(bucket, name) else { return Self.error(404, "No such object: \(bucket)/\(name)") }
        return Self.json(json)
    }

    private func download(_ bucket: String, _ name: String) -> Response {
        requestLog(append: "download")
        guard let data = object(bucket, name) else { return Self.error(404, "No such object: \(bucket)/\(name)") }
        return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func delete(_ bucket: String, _ name: String) -> Response {
        requestLog(append: "delete")
        let removed = lock.withLock { buckets[bucket]?.removeValue(forKey: name) != nil }
        return removed ? Response(status: .noContent) : Self.error(404, "No such object: \(bucket)/\(name)")
    }

    private func media(_ bucket: String, _ name: String, ifGenerationMatch: String?, body: [UInt8]) -> Response {
        if let failure = injected("media") { return failure }
        if ifGenerationMatch == "0", object(bucket, name) != nil {
            return Self.error(412, "At least one of the pre-conditions you specified did not hold.")
        }
        store(bucket, name, body)
        let fail = lock.withLock {
            defer { behaviour.storeThenFailNext = false }
            return behaviour.storeThenFailNext
        }
        if fail { return Self.error(500, "Backend Error") }
        return Self.json(objectJSON(bucket, name) ?? [:])
    }

    private func resumableStart(_ bucket: String, _ name: String, total: Int64, ifGenerationMatch: String?)
        -> Response
    {
        if let failure = injected("resumable-start") { return failure }
        if ifGenerationMatch == "0", object(bucket, name) != nil {
            return Self.error(412, "At least one of the pre-conditions you specified did not hold.")
        }
        guard total >= 0 else { return Self.error(400, "X-Upload-Content-Length is required") }
        let id = UUID().uuidString
        lock.withLock { sessions[id] = Session(bucket: bucket, name: name, total: total) }
        var headers = HTTPFields()
        headers[.location] = "\(baseURL)/upload/storage/v1/b/\(bucket)/o?uploadType=resumable&upload_id=\(id)"
        return Response(status: .ok, headers: headers)
    }

    private func resumablePut(_ id: String, contentRange: String?, body: [UInt8]) -> Response {
        guard let range = contentRange, range.hasPrefix("bytes "), var session = lock.withLock({ sessions[id] }) else {
            return Self.error(404, "No such upload session")
        }
        let spec = range.dropFirst(6)
        if spec.hasPrefix("*/") {
            requestLog(append: "resumable-status")
            if Int64(session.received.count) == session.total, let json = objectJSON(session.bucket, session.name) {
                return Self.json(json)
            }
            return incomplete(session)
        }
        if let failure = injected("resumable-put") { return failure }
        let bounds = spec.split(separator: "/")[0].split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] == session.received.count else {
            return Self.error(400, "Content-Range \(range) does not continue at \(session.received.count)")
        }
        var accepted = body
        let keep = lock.withLock {
            defer { behaviour.keepOnlyOnNextPut = nil }
            return behaviour.keepOnlyOnNextPut
        }
        if let keep { accepted = Array(body.prefix(keep)) }
        session.received += accepted
        lock.withLock { sessions[id] = session }
        if keep != nil { return Self.error(503, "Service Unavailable") }
        guard Int64(session.received.count) == session.total else { return incomplete(session) }
        store(session.bucket, session.name, session.received)
        return Self.json(objectJSON(session.bucket, session.name) ?? [:])
    }

    private func incomplete(_ session: Session) -> Response {
        var headers = HTTPFields()
        if !session.received.isEmpty { headers[HTTPField.Name("Range")!] = "bytes=0-\(session.received.count - 1)" }
        return Response(status: .init(code: 308), headers: headers)
    }

    private func token(_ body: [UInt8]) -> Response {
        if let failure = injected("token") {
            _ = failure
            return Self.json(
                ["error": "invalid_grant", "error_description": "Invalid JWT Signature."], status: 400
            )
        }
        let form = Self.query(String(decoding: body, as: UTF8.self))
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", let assertion = form["assertion"],
            assertion.split(separator: ".").count == 3
        else { return Self.json(["error": "invalid_request"], status: 400) }
        let token = lock.withLock {
            assertions.append(assertion)
            issuedTokens.append("tok-\(issuedTokens.count + 1)")
            return issuedTokens.last!
        }
        return Self.json(["access_token": token, "expires_in": 3600, "token_type": "Bearer"])
    }

    // MARK: Helpers

    private func requestLog(append kind: String) { lock.withLock { requestLog.append(kind) } }

    private func store(_ bucket: String, _ name: String, _ data: [UInt8]) {
        lock.withLock {
            buckets[bucket, default: [:]][name] = StoredObject(
                data: data, generation: nextGeneration, created: "2024-05-01T12:00:00.250Z"
            )
            nextGeneration += 1
        }
    }

    private func objectJSON(_ bucket: String, _ name: String) -> [String: Any]? {
        lock.withLock {
            guard let stored = buckets[bucket]?[name] else { return nil }
            return [
                "kind": "storage#object", "name": name, "bucket": bucket, "size": String(stored.data.count),
                "generation": String(stored.generation), "timeCreated": stored.created, "md5Hash": "ignored",
            ]
        }
    }

    private static func query(_ text: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            result[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return result
    }

    private static func json(_ object: [String: Any], status: Int = 200) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    private static func error(_ status: Int, _ message: String) -> Response {
        json(["error": ["code": status, "message": message, "errors": [["message": message]]]], status: status)
    }
}
