import Foundation
import Hummingbird

extension HeaderName {
    static let uploadContentLength = HeaderName("X-Upload-Content-Length")!
    static let uploadContentType = HeaderName("X-Upload-Content-Type")!
    static let guploaderUploadID = HeaderName("X-GUploader-UploadID")!
    static let guploaderNo308 = HeaderName("X-GUploader-No-308")!
    static let statusCodeOverride = HeaderName("X-HTTP-Status-Code-Override")!
    static let googGeneration = HeaderName("x-goog-generation")!
    static let googMetageneration = HeaderName("x-goog-metageneration")!
    static let googHash = HeaderName("x-goog-hash")!
    static let googStoredContentLength = HeaderName("x-goog-stored-content-length")!
}

/// Google Cloud Storage JSON API (the Vertex AI files flavor): object upload (media, multipart, resumable),
/// list, get, download, delete, bucket insert/get, and an OAuth 2.0 token endpoint for service accounts.
extension SimulatorRoutes {
    /// What a route needs from the bearer token.
    enum GCSAccess {
        case none, read, write
    }

    static let gcsUploadRoute = "POST /upload/storage/v1/b/{bucket}/o"

    func addGCSRoutes(_ router: Router<SimRequestContext>) {
        router.post("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            if query.nonEmpty("upload_id") != nil {
                // Some clients (Go) send resumable chunks with POST.
                return await self.gcs("gcs.resumable", Self.gcsUploadRoute, request, context, access: .none) {
                    try await self.resumableChunk(bucket, query, request)
                }
            }
            return await self.gcs("gcs.upload", Self.gcsUploadRoute, request, context, access: .write) {
                try await self.insertObject(bucket, query, request)
            }
        }
        router.put("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.resumable", "PUT /upload/storage/v1/b/{bucket}/o", request, context, access: .none
            ) {
                try await self.resumableChunk(bucket, query, request)
            }
        }
        router.delete("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.resumable", "DELETE /upload/storage/v1/b/{bucket}/o", request, context, access: .none
            ) {
                await self.drain(request)
                return try self.cancelSession(bucket, query)
            }
        }
        router.get("/storage/v1/b/:bucket/o") { request, context in
            let bucket = self.bucketParameter(context)
            return await self.gcs("gcs.list", "GET /storage/v1/b/{bucket}/o", request, context, access: .read) {
                try self.listObjects(bucket, GCSQuery(request.uri.query), request)
            }
        }
        router.get("/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            if query["alt"] == "media" {
                return await self.gcs(
                    "gcs.download", "GET /storage/v1/b/{bucket}/o/{object}?alt=media", request, context, access: .read
                ) {
                    try self.getObject(bucket, try self.objectName(request, segments: 6), query, request, media: true)
                }
            }
            return await self.gcs("gcs.get", "GET /storage/v1/b/{bucket}/o/{object}", request, context, access: .read) {
                try self.getObject(bucket, try self.objectName(request, segments: 6), query, request, media: false)
            }
        }
        router.get("/download/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.download", "GET /download/storage/v1/b/{bucket}/o/{object}", request, context, access: .read
            ) {
                try self.getObject(bucket, try self.objectName(request, segments: 7), query, request, media: true)
            }
        }
        router.delete("/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.delete", "DELETE /storage/v1/b/{bucket}/o/{object}", request, context, access: .write
            ) {
                try self.deleteObject(bucket, try self.objectName(request, segments: 6), query)
            }
        }
        router.post("/storage/v1/b") { request, context in
            await self.gcs("gcs.bucket", "POST /storage/v1/b", request, context, access: .write) {
                try await self.insertBucket(request)
            }
        }
        router.get("/storage/v1/b/:bucket") { request, context in
            let bucket = self.bucketParameter(context)
            return await self.gcs("gcs.bucket", "GET /storage/v1/b/{bucket}", request, context, access: .read) {
                try self.getBucket(bucket, request)
            }
        }
        router.post("/token") { request, context in
            await self.gcs("token", "POST /token", request, context, access: .none, oauth: true) {
                try await self.issueToken(request)
            }
        }
    }

    // MARK: Pipeline

    /// Counts the request, applies latency and faults, checks the bearer token, then runs `handler`.
    /// The same steps, in the same order, as the OpenAI and Azure routes.
    func gcs(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext,
        access: GCSAccess, oauth: Bool = false, _ handler: () async throws -> Response
    ) async -> Response {
        if HeaderEcho.headers == nil, core.currentPlan().echoRequestHeaders {
            return await HeaderEcho.$headers.withValue(HeaderEcho.capture(request)) {
                await gcs(operation, routeKey, request, context, access: access, oauth: oauth, handler)
            }
        }
        core.countRequest(routeKey)
        core.enter()
        defer { core.leave() }
        let plan = core.currentPlan()
        if plan.latencyMilliseconds > 0 {
            try? await Task.sleep(for: .milliseconds(plan.latencyMilliseconds))
        }
        if core.draw(plan.resetConnectionRate) {
            core.countReset()
            context.closeConnection()
            return Response(status: .internalServerError)
        }
        var response: Response
        if core.draw(plan.errorRate(for: operation)) {
            await drain(request)
            let status = core.pickStatus(plan.errorStatuses)
            core.countInjectedError(status)
            response =
                oauth
                ? OAuthError.injected(status: status, retryAfter: plan.retryAfterSeconds).response()
                : GCSError.injected(status: status, retryAfter: plan.retryAfterSeconds).response()
        } else if let failure = gcsAuthorization(request, access) {
            await drain(request)
            response = failure.response()
        } else {
            do {
                response = try await handler()
            } catch let error as GCSError {
                response = error.response()
            } catch let error as OAuthError {
                response = error.response()
            } catch {
                response = GCSError.internalError("\(error)").response()
            }
        }
        response.headers[.requestIDHeader] = core.newRequestID()
        core.countResponse(Int(response.status.code))
        return response
    }

    /// nil when the request may go ahead (see `GCSAuthentication`).
    func gcsAuthorization(_ request: Request, _ access: GCSAccess) -> GCSError? {
        if case .none = access { return nil }
        switch core.configuration.gcsAuthentication {
        case .anonymous:
            return nil
        case .anyBearerToken:
            return apiKey(.openai, request) == nil ? .loginRequired : nil
        case .issuedTokens:
            guard let token = apiKey(.openai, request) else { return .loginRequired }
            guard let issued = core.gcsToken(token), issued.expires > SimulatorCore.now() else {
                return .invalidCredentials
            }
            if case .write = access {
                return issued.allows(write: true) ? nil : .insufficientPermissions
            }
            return issued.allows(write: false) ? nil : .insufficientPermissions
        }
    }

    /// Runs checks that come before reading the body; on failure the body is drained first.
    func beforeBody<T>(_ request: Request, _ checks: () throws -> T) async throws -> T {
        do {
            return try checks()
        } catch {
            await drain(request)
            throw error
        }
    }

    func bucketParameter(_ context: SimRequestContext) -> String {
        let raw = context.parameters.get("bucket") ?? ""
        return GCSName.decode(raw.utf8, plusIsSpace: false) ?? raw
    }

    func checkBucketName(_ bucket: String) throws {
        guard GCSName.isValidBucket(bucket) else { throw GCSError.invalidBucketName(bucket) }
    }

    /// The object name: everything after the path's `segments`-th slash, percent-decoded (`%2F` and `/`
    /// both stand for a slash; `+` is a plus).
    func objectName(_ request: Request, segments: Int) throws -> String {
        let path = request.uri.path.utf8
        var slashes = 0
        var index = path.startIndex
        while index < path.endIndex {
            if path[index] == UInt8(ascii: "/") {
                slashes += 1
                if slashes == segments {
                    index = path.index(after: index)
                    break
                }
            }
            index = path.index(after: index)
        }
        guard slashes == segments, let name = GCSName.decode(path[index...], plusIsSpace: false) else {
            throw GCSError.invalid("The object name in the path is not valid percent-encoded UTF-8.")
        }
        if let problem = GCSName.validationError(name) { throw GCSError.invalid(problem) }
        return name
    }

    /// `http://host:port` as the client addressed this server (for links and session URIs).
    func origin(_ request: Request) -> String {
        "http://\(request.head.authority ?? "127.0.0.1")"
    }

    // MARK: Resources

    func objectResource(_ record: GCSObjectRecord, _ request: Request) -> JSON {
        let base = origin(request)
        let bucket = GCSName.encode(record.bucket)
        let name = GCSName.encode(record.name)
        let created = GCSTime.rfc3339(record.created)
        let etag = Data("\(record.generation)/\(record.metageneration)".utf8).base64EncodedString()
        var pairs: [(String, JSON)] = [
            ("kind", .string("storage#object")),
            ("id", .string("\(record.bucket)/\(record.name)/\(record.generation)")),
            ("selfLink", .string("\(base)/storage/v1/b/\(bucket)/o/\(name)")),
            ("mediaLink", .string("\(base)/download/storage/v1/b/\(bucket)/o/\(name)?generation=\(record.generation)&alt=media")),
            ("name", .string(record.name)),
            ("bucket", .string(record.bucket)),
            ("generation", .string(String(record.generation))),
            ("metageneration", .string(String(record.metageneration))),
            ("contentType", .string(record.contentType)),
            ("storageClass", .string("STANDARD")),
            ("size", .string(String(record.size))),
            ("md5Hash", .string(record.md5Hash)),
            ("crc32c", .string(record.crc32c)),
            ("etag", .string(etag)),
            ("timeCreated", .string(created)),
            ("updated", .string(created)),
            ("timeStorageClassUpdated", .string(created)),
        ]
        if let metadata = record.metadata, !metadata.isEmpty {
            pairs.append(("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return .object(pairs)
    }

    func bucketResource(_ name: String, _ bucket: GCSBucketState, _ request: Request) -> JSON {
        let created = GCSTime.rfc3339(bucket.created)
        return .object([
            ("kind", .string("storage#bucket")),
            ("selfLink", .string("\(origin(request))/storage/v1/b/\(GCSName.encode(name))")),
            ("id", .string(name)),
            ("name", .string(name)),
            ("projectNumber", .string("0")),
            ("metageneration", .string(String(bucket.metageneration))),
            ("location", .string("US")),
            ("storageClass", .string("STANDARD")),
            ("etag", .string("CAE=")),
            ("timeCreated", .string(created)),
            ("updated", .string(created)),
            ("locationType", .string("multi-region")),
        ])
    }

    // MARK: Buckets

    struct BucketInsertBody: Decodable {
        var name: String?
    }

    func insertBucket(_ request: Request) async throws -> Response {
        let body = try await readGCSJSON(BucketInsertBody.self, request)
        guard let name = body.name, !name.isEmpty else { throw GCSError.required("resource.name") }
        try checkBucketName(name)
        guard try core.createGCSBucket(name), let bucket = core.gcsBucket(name) else {
            throw GCSError(
                status: 409,
                message: "Your previous request to create the named bucket succeeded and you already own it.",
                reason: "conflict")
        }
        return jsonResponse(bucketResource(name, bucket, request))
    }

    func getBucket(_ name: String, _ request: Request) throws -> Response {
        try checkBucketName(name)
        guard let bucket = core.gcsBucket(name) else { throw GCSError.noSuchBucket }
        return jsonResponse(bucketResource(name, bucket, request))
    }

    /// Reads a small JSON body (at most 64 KiB); an empty body decodes as `{}`.
    func readGCSJSON<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let bytes = try await readSmallBody(request, limit: 64 * 1024)
        do {
            return try JSONDecoder().decode(T.self, from: bytes.isEmpty ? Data("{}".utf8) : Data(bytes))
        } catch {
            throw GCSError(status: 400, message: "Invalid JSON payload received.", reason: "parseError")
        }
    }

    /// The whole body, up to `limit` bytes (more: 413, after reading the rest).
    func readSmallBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var tooLarge = false
        for try await chunk in request.body {
            if tooLarge { continue }
            if bytes.count + chunk.readableBytes > limit {
                tooLarge = true
                continue
            }
            bytes += chunk.readableBytesView
        }
        if tooLarge { throw GCSError(status: 413, message: "The request body is too large.", reason: "uploadTooLarge") }
        return bytes
    }

    // MARK: Objects

    func listObjects(_ bucket: String, _ query: GCSQuery, _ request: Request) throws -> Response {
        try checkBucketName(bucket)
        let prefix = query["prefix"] ?? ""
        let delimiter = query.nonEmpty("delimiter")
        var maxResults = 1000
        if let raw = query["maxResults"] {
            guard let value = Int(raw), value > 0 else {
                throw GCSError.invalid("Invalid value for maxResults: '\(raw)'. It must be a positive integer.")
            }
            maxResults = min(value, 1000)
        }
        var after: String?
        if let token = query.nonEmpty("pageToken") {
            guard let bytes = Base64URL.decode(token), bytes.starts(with: Array("sim1:".utf8)),
                let last = String(validating: bytes.dropFirst(5), as: UTF8.self)
            else { throw GCSError.invalid("Invalid value for pageToken: '\(token)'.") }
            after = last
        }
        let startOffset = query.nonEmpty("startOffset")
        let endOffset = query.nonEmpty("endOffset")
        for key in ["prefix", "delimiter", "pageToken", "startOffset", "endOffset"] where query.malformed.contains(key) {
            throw GCSError.invalid("Invalid value for \(key): it is not valid percent-encoded UTF-8.")
        }
        let records = try core.gcsObjects(bucket: bucket)
        let lag = core.currentPlan().listLagSeconds
        let now = SimulatorCore.now()

        // Entries in byte order: objects, and with a delimiter the "directories" they fold into. Only the page (and
        // one entry more, to know whether a next page exists) is built: names at or before the page token, below the
        // prefix or the start offset cannot give an entry of this page, so the walk starts after them (binary search).
        // Names sharing the prefix are contiguous in byte order, so the walk stops at the first one that does not.
        // The first index whose name is at or after `bound` (`inclusive`), or strictly after it.
        func lowerBound(_ bound: String, inclusive: Bool) -> Int {
            var low = 0
            var high = records.count
            while low < high {
                let mid = (low + high) / 2
                let name = records[mid].name
                if inclusive ? GCSName.precedes(name, bound) : !GCSName.precedes(bound, name) {
                    low = mid + 1
                } else {
                    high = mid
                }
            }
            return low
        }
        var first = prefix.isEmpty ? 0 : lowerBound(prefix, inclusive: true)
        if let startOffset { first = max(first, lowerBound(startOffset, inclusive: true)) }
        if let after { first = max(first, lowerBound(after, inclusive: false)) }
        var entries: [(key: String, record: GCSObjectRecord?)] = []
        var lastPrefix: String?
        let delimiterBytes = delimiter.map { Array($0.utf8) }
        var index = first
        while index < records.count, entries.count <= maxResults {
            let record = records[index]
            index += 1
            let name = record.name
            guard name.utf8.starts(with: prefix.utf8) else { break }
            if let endOffset, !GCSName.precedes(name, endOffset) { break }
            if lag > 0, now - record.created < lag { continue }
            var key = name
            var folded: GCSObjectRecord? = record
            if let delimiterBytes {
                let rest = Array(name.utf8.dropFirst(prefix.utf8.count))
                if let end = Self.firstRange(of: delimiterBytes, in: rest) {
                    key = String(decoding: Array(prefix.utf8) + rest[..<end], as: UTF8.self)
                    folded = nil
                    if key == lastPrefix { continue }
                    lastPrefix = key
                }
            }
            // A folded "directory" can sort at or before the token even when the name after it does not.
            if let after, !GCSName.precedes(after, key) { continue }
            entries.append((key, folded))
        }
        let page = entries.prefix(maxResults)
        var pairs: [(String, JSON)] = [("kind", .string("storage#objects"))]
        if entries.count > page.count, let last = page.last {
            pairs.append(("nextPageToken", .string(Base64URL.encode(Array("sim1:".utf8) + Array(last.key.utf8)))))
        }
        let prefixes = page.filter { $0.record == nil }.map { JSON.string($0.key) }
        if !prefixes.isEmpty { pairs.append(("prefixes", .array(prefixes))) }
        let items = page.compactMap { $0.record.map { objectResource($0, request) } }
        if !items.isEmpty { pairs.append(("items", .array(items))) }
        return jsonResponse(.object(pairs))
    }

    /// End index (exclusive) of the first occurrence of `needle` in `haystack`.
    static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return start + needle.count }
        }
        return nil
    }

    func getObject(_ bucket: String, _ name: String, _ query: GCSQuery, _ request: Request, media: Bool) throws
        -> Response
    {
        try checkBucketName(bucket)
        let record = try core.gcsObject(bucket: bucket, name: name)
        if let wanted = query.nonEmpty("generation"), Int64(wanted) != record.generation {
            throw GCSError.noSuchObject(bucket: bucket, name: name)
        }
        try GCSPreconditions(query).check(record)
        guard media else { return jsonResponse(objectResource(record, request)) }
        guard let content = core.gcsContent(record) else { throw GCSError.noSuchObject(bucket: bucket, name: name) }
        core.countBytes(downloaded: record.size)
        let headers: HTTPFields = [
            .contentType: record.contentType,
            .contentLength: String(record.size),
            .googGeneration: String(record.generation),
            .googMetageneration: String(record.metageneration),
            .googHash: "crc32c=\(record.crc32c),md5=\(record.md5Hash)",
            .googStoredContentLength: String(record.size),
        ]
        return Response(status: .ok, headers: headers, body: ContentReader.responseBody(content, length: record.size))
    }

    func deleteObject(_ bucket: String, _ name: String, _ query: GCSQuery) throws -> Response {
        try checkBucketName(bucket)
        var generation: Int64?
        if let raw = query.nonEmpty("generation") {
            guard let value = Int64(raw) else { throw GCSError.invalid("Invalid value for generation: '\(raw)'.") }
            generation = value
        }
        try core.deleteGCSObject(
            bucket: bucket, name: name, generation: generation, preconditions: try GCSPreconditions(query))
        return Response(status: .noContent)
    }

    // MARK: Uploads

    func insertObject(_ bucket: String, _ query: GCSQuery, _ request: Request) async throws -> Response {
        let (uploadType, preconditions) = try await beforeBody(request) { () throws -> (String, GCSPreconditions) in
            try checkBucketName(bucket)
            guard let uploadType = query.nonEmpty("uploadType") else { throw GCSError.required("uploadType") }
            guard ["media", "multipart", "resumable"].contains(uploadType) else {
                throw GCSError.invalid("Invalid upload type: '\(uploadType)' (use media, multipart or resumable).")
            }
            if query.malformed.contains("name") {
                throw GCSError.invalid("The object name is not valid percent-encoded UTF-8.")
            }
            return (uploadType, try GCSPreconditions(query))
        }
        switch uploadType {
        case "media":
            let name = try await beforeBody(request) { () throws -> String in
                guard let name = query.nonEmpty("name") else { throw GCSError.required("name") }
                if let problem = GCSName.validationError(name) { throw GCSError.invalid(problem) }
                return name
            }
            let contentType = request.headers[.contentType].flatMap { $0.isEmpty ? nil : $0 } ?? "application/octet-stream"
            let content = try await readMedia(request)
            let record = try core.commitGCSObject(
                bucket: bucket, name: name, contentType: contentType, metadata: nil, content: content,
                preconditions: preconditions)
            core.countBytes(uploaded: record.size)
            return uploaded(record, request)
        case "multipart":
            return try await multipartUpload(bucket, query, preconditions, request)
        default:
            return try await startResumable(bucket, query, preconditions, request)
        }
    }

    /// The answer to a finished upload: the object resource, unless accept-then-fail strikes.
    func uploaded(_ record: GCSObjectRecord, _ request: Request) -> Response {
        if core.draw(core.currentPlan().acceptThenFailRate) {
            core.countAcceptThenFail()
            return GCSError.injected(status: 500, retryAfter: 0).response()
        }
        return jsonResponse(objectResource(record, request))
    }

    /// Streams a whole body to the temp folder (or memory), bounded by `maxUploadBytes`.
    func readMedia(_ request: Request) async throws -> StoredContent {
        let limit = core.configuration.maxUploadBytes
        let writer = try ContentWriter(path: core.newTempPath())
        var tooLarge = false
        do {
            for try await chunk in request.body {
                if tooLarge { continue }
                if writer.size + Int64(chunk.readableBytes) > limit {
                    tooLarge = true
                    writer.discard()
                    continue
                }
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
            }
        } catch {
            writer.discard()
            throw error
        }
        if tooLarge { throw GCSError.tooLarge(limit) }
        return try writer.finish().content
    }

    /// Object metadata accepted in multipart and resumable uploads (other fields are ignored).
    struct ObjectMetadataBody: Decodable {
        var name: String?
        var contentType: String?
        var metadata: [String: String]?
    }

    func decodeObjectMetadata(_ bytes: [UInt8]) throws -> ObjectMetadataBody {
        let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }
        if trimmed.isEmpty { return ObjectMetadataBody() }
        do {
            return try JSONDecoder().decode(ObjectMetadataBody.self, from: Data(trimmed))
        } catch {
            throw GCSError(status: 400, message: "Invalid JSON payload received: the object metadata is not a JSON object with string fields.", reason: "parseError")
        }
    }

    /// The object name from the query and/or the metadata; they must agree when both are given.
    func resolveName(_ query: GCSQuery, _ metadata: ObjectMetadataBody) throws -> String {
        let fromQuery = query.nonEmpty("name")
        let fromBody = metadata.name.flatMap { $0.isEmpty ? nil : $0 }
        if let fromQuery, let fromBody, GCSName.key(fromQuery) != GCSName.key(fromBody) {
            throw GCSError.invalid("Value '\(fromBody)' in content does not agree with value '\(fromQuery)'.")
        }
        guard let name = fromQuery ?? fromBody else { throw GCSError.required("name") }
        if let problem = GCSName.validationError(name) { throw GCSError.invalid(problem) }
        return name
    }

    func multipartUpload(
        _ bucket: String, _ query: GCSQuery, _ preconditions: GCSPreconditions, _ request: Request
    ) async throws -> Response {
        let boundary = try await beforeBody(request) { () throws -> String in
            let (type, params) = HeaderValue.parse(request.headers[.contentType] ?? "")
            guard type.lowercased().hasPrefix("multipart/"), let boundary = params["boundary"], !boundary.isEmpty,
                boundary.utf8.count <= 200
            else {
                throw GCSError.invalid(
                    "A multipart upload needs Content-Type: multipart/related; boundary=… (got \(request.headers[.contentType] ?? "none")).")
            }
            return boundary
        }
        let core = self.core
        let limit = core.configuration.maxUploadBytes
        var sink = RelatedSink(maxMediaBytes: limit) { try ContentWriter(path: core.newTempPath()) }
        var parser = MultipartParser(boundary: boundary)
        var failure: (any Error)?
        do {
            for try await chunk in request.body {
                if failure != nil || sink.tooLarge { continue }
                do {
                    try chunk.withUnsafeReadableBytes { try parser.feed($0, sink: &sink) }
                } catch {
                    failure = error
                }
            }
        } catch {
            sink.media?.discard()
            throw error
        }
        if failure == nil, !sink.tooLarge {
            do { try parser.finish() } catch { failure = error }
        }
        if sink.tooLarge {
            sink.media?.discard()
            throw GCSError.tooLarge(limit)
        }
        if let failure {
            sink.media?.discard()
            throw GCSError.invalid("\(failure)")
        }
        guard sink.parts == 2, let media = sink.media else {
            sink.media?.discard()
            throw GCSError.invalid(
                "A multipart upload has exactly two parts, the JSON metadata and the media (got \(sink.parts)).")
        }
        let metadata: ObjectMetadataBody
        let name: String
        do {
            metadata = try decodeObjectMetadata(sink.metadataBytes)
            name = try resolveName(query, metadata)
        } catch {
            media.discard()
            throw error
        }
        let contentType = metadata.contentType ?? sink.mediaContentType ?? "application/octet-stream"
        let content = try media.finish().content
        let record = try core.commitGCSObject(
            bucket: bucket, name: name, contentType: contentType, metadata: metadata.metadata, content: content,
            preconditions: preconditions)
        core.countBytes(uploaded: record.size)
        return uploaded(record, request)
    }
}

/// The two parts of a `multipart/related` upload: JSON metadata, then the media.
struct RelatedSink: MultipartSink {
    static let maxMetadataBytes = 64 * 1024

    let maxMediaBytes: Int64
    let makeWriter: () throws -> ContentWriter
    var parts = 0
    var metadataBytes: [UInt8] = []
    var media: ContentWriter?
    var mediaContentType: String?
    var tooLarge = false

    init(maxMediaBytes: Int64, makeWriter: @escaping () throws -> ContentWriter) {
        self.maxMediaBytes = maxMediaBytes
        self.makeWriter = makeWriter
    }

    mutating func beginPart(_ headers: MultipartPartHeaders) throws {
        parts += 1
        if parts == 2 {
            mediaContentType = headers.contentType
            media = try makeWriter()
        }
    }

    mutating func partData(_ bytes: UnsafeRawBufferPointer) throws {
        switch parts {
        case 1:
            if metadataBytes.count + bytes.count > RelatedSink.maxMetadataBytes {
                throw MultipartError.malformed("the metadata part is larger than 64 KiB")
            }
            metadataBytes += bytes
        case 2:
            guard let media, !tooLarge else { return }
            if media.size + Int64(bytes.count) > maxMediaBytes {
                tooLarge = true
                media.discard()
                return
            }
            try media.write(bytes)
        default:
            break
        }
    }

    mutating func endPart() throws {}
}
