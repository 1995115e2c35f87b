import Crypto
import Foundation
import Hummingbird

/// An S3 error: `<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>` as application/xml
/// (HEAD answers carry no body, as S3's do).
struct S3Error: Error {
    var status: Int
    var code: String
    var message: String
    /// Further elements after `Message` (`Key`, `BucketName`, `StringToSign`, …), in order.
    var details: [(String, String)] = []

    static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error(status: 404, code: "NoSuchBucket", message: "The specified bucket does not exist", details: [("BucketName", bucket)])
    }
    static func noSuchKey(_ key: String) -> S3Error {
        S3Error(status: 404, code: "NoSuchKey", message: "The specified key does not exist.", details: [("Key", key)])
    }
    static func noSuchUpload(_ id: String) -> S3Error {
        S3Error(
            status: 404, code: "NoSuchUpload",
            message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            details: [("UploadId", id)])
    }
    static func invalidArgument(_ message: String) -> S3Error {
        S3Error(status: 400, code: "InvalidArgument", message: message)
    }
    static func accessDenied(_ message: String = "Access Denied") -> S3Error {
        S3Error(status: 403, code: "AccessDenied", message: message)
    }
    static func notImplemented(_ message: String) -> S3Error {
        S3Error(status: 501, code: "NotImplemented", message: message)
    }
    /// An injected fault: 503 `SlowDown` (no `Retry-After`, as S3 sends none), 500 `InternalError`, others by status.
    static func injected(status: Int) -> S3Error {
        switch status {
        case 503: return S3Error(status: 503, code: "SlowDown", message: "Please reduce your request rate.")
        case 500: return S3Error(status: 500, code: "InternalError", message: "We encountered an internal error. Please try again.")
        case 403: return accessDenied()
        case 400: return S3Error(status: 400, code: "InvalidRequest", message: "Injected failure 400.")
        case 401: return S3Error(status: 401, code: "Unauthorized", message: "Injected failure 401.")
        case 429: return S3Error(status: 429, code: "TooManyRequests", message: "Please reduce your request rate.")
        default: return S3Error(status: status, code: "ServiceUnavailable", message: "Injected failure \(status).")
        }
    }

    func response(head: Bool = false) -> Response {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(s3Escape(message))</Message>"
        for (name, value) in details + HeaderEcho.s3Details() { xml += "<\(name)>\(s3Escape(value))</\(name)>" }
        xml += "<RequestId>SIM\(UInt32.random(in: 0...UInt32.max))</RequestId><HostId>ferry-simulator</HostId></Error>"
        if head { return Response(status: HTTPResponse.Status(code: status)) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/xml"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
    }
}

func s3Escape(_ text: String) -> String {
    var output = ""
    for character in text {
        switch character {
        case "&": output += "&amp;"
        case "<": output += "&lt;"
        case ">": output += "&gt;"
        case "\"": output += "&quot;"
        case "'": output += "&apos;"
        default: output.append(character)
        }
    }
    return output
}

extension HeaderEcho {
    /// With `echoRequestHeaders`, the request's headers as one `RequestHeaders` element (credential scrubbing test).
    static func s3Details() -> [(String, String)] {
        guard let headers else { return [] }
        return [("RequestHeaders", headers.map { "\($0.name): \($0.value)" }.joined(separator: "; "))]
    }
}

/// Amazon S3, path-style under `/s3` (the Bedrock batch files flavor): buckets, PutObject, multipart uploads,
/// ListObjectsV2, HeadObject, GetObject and DeleteObject, every request checked for a valid AWS Signature Version 4
/// (header form) made with a key pair the simulator knows, through the shared fault pipeline.
extension SimulatorRoutes {
    /// S3's limit on one PUT.
    static let s3MaxSinglePut: Int64 = 5 << 30
    /// Smallest part but the last.
    static let s3MinPartBytes = 5 << 20
    /// How far `x-amz-date` may be from the simulator's clock.
    static let s3MaxSkewSeconds: Double = 15 * 60

    func addS3Routes(_ router: Router<SimRequestContext>) {
        router.put("/s3/:bucket") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            return await self.s3("s3.bucket", "PUT /s3/{bucket}", request, context) {
                await self.drain(request)
                return try self.s3CreateBucket(bucket)
            }
        }
        router.get("/s3/:bucket") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            return await self.s3("s3.list", "GET /s3/{bucket}?list-type=2", request, context) {
                try self.s3List(bucket, request)
            }
        }
        router.put("/s3/:bucket/**") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            let query = S3Query(request.uri.query)
            if query["partNumber"] != nil || query["uploadId"] != nil {
                return await self.s3("s3.part", "PUT /s3/{bucket}/{key}?partNumber&uploadId", request, context) {
                    try await self.s3UploadPart(bucket, try self.s3Key(request), query, request)
                }
            }
            return await self.s3("s3.put", "PUT /s3/{bucket}/{key}", request, context) {
                try await self.s3Put(bucket, try self.s3Key(request), request)
            }
        }
        router.post("/s3/:bucket/**") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            let query = S3Query(request.uri.query)
            return await self.s3("s3.multipart", "POST /s3/{bucket}/{key}", request, context) {
                let key = try self.s3Key(request)
                if query.has("uploads") { return try await self.s3StartMultipart(bucket, key, request) }
                if let id = query["uploadId"] { return try await self.s3CompleteMultipart(bucket, key, id, request) }
                await self.drain(request)
                throw S3Error.invalidArgument("POST on an object needs ?uploads or ?uploadId.")
            }
        }
        router.head("/s3/:bucket/**") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            return await self.s3("s3.head", "HEAD /s3/{bucket}/{key}", request, context, head: true) {
                await self.drain(request)
                return try self.s3Get(bucket, try self.s3Key(request), head: true)
            }
        }
        router.get("/s3/:bucket/**") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            return await self.s3("s3.get", "GET /s3/{bucket}/{key}", request, context) {
                await self.drain(request)
                let key = try self.s3Key(request)
                if key.isEmpty { return try self.s3List(bucket, request) }
                return try self.s3Get(bucket, key, head: false)
            }
        }
        router.delete("/s3/:bucket/**") { request, context in
            let bucket = context.parameters.get("bucket") ?? ""
            let query = S3Query(request.uri.query)
            return await self.s3("s3.delete", "DELETE /s3/{bucket}/{key}", request, context) {
                await self.drain(request)
                let key = try self.s3Key(request)
                if let id = query["uploadId"] { return try self.s3AbortMultipart(bucket, key, id) }
                return try self.s3Delete(bucket, key)
            }
        }
    }

    /// Faults, then the SigV4 check, then `handler` (which verifies a signed payload hash when it reads the body).
    func s3(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext, head: Bool = false,
        _ handler: () async throws -> Response
    ) async -> Response {
        await echoingHeaders(request) {
            switch await injectFaults(operation, routeKey, request, context) {
            case .reset:
                return Response(status: .internalServerError)
            case .error(let status, _):
                return answered(S3Error.injected(status: status).response(head: head))
            case nil:
                break
            }
            if let failure = s3VerifySignature(request) {
                await drain(request)
                return answered(failure.response(head: head))
            }
            do {
                return answered(try await handler())
            } catch let error as S3Error {
                return answered(error.response(head: head))
            } catch {
                return answered(
                    S3Error(status: 500, code: "InternalError", message: "The simulator failed: \(error)").response(head: head))
            }
        }
    }

    // MARK: Signature Version 4

    /// Checks the `Authorization` header against a signature computed with the secret of its access key id:
    /// the canonical request from the path as sent, the query re-encoded and sorted, the signed headers and
    /// `x-amz-content-sha256`. Nil when it matches.
    func s3VerifySignature(_ request: Request) -> S3Error? {
        guard let authorization = request.headers[.authorization], !authorization.isEmpty else {
            return .accessDenied("Anonymous access is not allowed: sign requests with AWS Signature Version 4.")
        }
        guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return S3Error(
                status: 400, code: "InvalidArgument", message: "Unsupported Authorization Type",
                details: [("ArgumentName", "Authorization")])
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else {
            return S3Error(
                status: 400, code: "AuthorizationHeaderMalformed",
                message: "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[3] == "s3", scope[4] == "aws4_request" else {
            return S3Error(
                status: 400, code: "AuthorizationHeaderMalformed",
                message: "The authorization header is malformed; the Credential scope must be AKID/date/region/s3/aws4_request.")
        }
        let accessKeyID = scope[0]
        guard let secret = core.s3Secret(accessKeyID) else {
            return S3Error(
                status: 403, code: "InvalidAccessKeyId",
                message: "The AWS Access Key Id you provided does not exist in our records.",
                details: [("AWSAccessKeyId", accessKeyID)])
        }
        let amzDate = request.headers[HeaderName("x-amz-date")!] ?? ""
        guard amzDate.count == 16, amzDate.hasPrefix(scope[1]), let signedAt = Self.parseAMZDate(amzDate) else {
            return .accessDenied("AWS authentication requires a valid x-amz-date header matching the credential scope")
        }
        if abs(signedAt - SimulatorCore.now()) > Self.s3MaxSkewSeconds {
            return S3Error(
                status: 403, code: "RequestTimeTooSkewed",
                message: "The difference between the request time and the current time is too large.",
                details: [("RequestTime", amzDate)])
        }
        guard let payloadHash = request.headers[HeaderName("x-amz-content-sha256")!], !payloadHash.isEmpty else {
            return S3Error(
                status: 400, code: "InvalidRequest", message: "Missing required header for this request: x-amz-content-sha256")
        }
        guard payloadHash == "UNSIGNED-PAYLOAD" || (payloadHash.count == 64 && payloadHash.allSatisfy(\.isHexDigit)) else {
            return .notImplemented("The simulator takes x-amz-content-sha256 as a SHA-256 or UNSIGNED-PAYLOAD only.")
        }
        let signedNames = signedList.split(separator: ";").map { String($0) }
        guard signedNames.contains("host"), signedNames.contains("x-amz-content-sha256"),
            signedNames.contains("x-amz-date")
        else {
            return .accessDenied("SignedHeaders must include host, x-amz-content-sha256 and x-amz-date.")
        }
        // Every x-amz-* header sent must be signed.
        for field in request.headers where field.name.canonicalName.hasPrefix("x-amz-") {
            if !signedNames.contains(field.name.canonicalName) {
                return .accessDenied("There were headers present in the request which were not signed: \(field.name.canonicalName)")
            }
        }
        var canonicalHeaders = ""
        for name in signedNames {
            let value: String
            if name == "host" {
                value = request.head.authority ?? ""
            } else {
                value = request.headers[values: HeaderName(name) ?? HeaderName("x-invalid")!]
                    .map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
                    .joined(separator: ",")
            }
            canonicalHeaders += "\(name):\(value)\n"
        }
        let canonicalRequest = [
            request.method.rawValue, request.uri.path, S3Query(request.uri.query).canonical, canonicalHeaders,
            signedList, payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope[1...4].joined(separator: "/"), Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in scope[1...4] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        guard expected == signature else {
            return S3Error(
                status: 403, code: "SignatureDoesNotMatch",
                message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                details: [
                    ("AWSAccessKeyId", accessKeyID), ("StringToSign", stringToSign), ("SignatureProvided", signature),
                    ("CanonicalRequest", canonicalRequest),
                ])
        }
        return nil
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// `20260101T123045Z` to Unix seconds.
    static func parseAMZDate(_ text: String) -> Double? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: digits[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        let components = DateComponents(
            timeZone: TimeZone(identifier: "UTC"), year: year, month: month, day: day, hour: hour, minute: minute,
            second: second)
        return Calendar(identifier: .gregorian).date(from: components)?.timeIntervalSince1970
    }

    /// The body, checked against a signed `x-amz-content-sha256` (400 `XAmzContentSHA256Mismatch` otherwise).
    func s3Body(_ request: Request, limit: Int64) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var tooLarge = false
        for try await chunk in request.body {
            if tooLarge { continue }
            if Int64(bytes.count + chunk.readableBytes) > limit {
                tooLarge = true
                continue
            }
            bytes += chunk.readableBytesView
        }
        if tooLarge {
            throw S3Error(
                status: 400, code: "EntityTooLarge", message: "Your proposed upload exceeds the maximum allowed size",
                details: [("MaxSizeAllowed", String(limit))])
        }
        let declared = request.headers[HeaderName("x-amz-content-sha256")!] ?? ""
        if declared != "UNSIGNED-PAYLOAD" {
            let actual = Self.hex(SHA256.hash(data: bytes))
            if actual != declared.lowercased() {
                throw S3Error(
                    status: 400, code: "XAmzContentSHA256Mismatch",
                    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    details: [("ClientComputedContentSHA256", declared), ("S3ComputedContentSHA256", actual)])
            }
        }
        core.countBytes(uploaded: Int64(bytes.count))
        return bytes
    }

    // MARK: Paths

    /// The key: everything after `/s3/{bucket}/`, percent-decoded.
    func s3Key(_ request: Request) throws -> String {
        let path = request.uri.path
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        // ["", "s3", "bucket/key…"]
        guard parts.count == 3 else { return "" }
        let rest = parts[2]
        guard let slash = rest.firstIndex(of: "/") else { return "" }
        let raw = String(rest[rest.index(after: slash)...])
        guard let key = raw.removingPercentEncoding else {
            throw S3Error.invalidArgument("The key in the path is not valid percent-encoded UTF-8.")
        }
        if key.utf8.count > 1024 {
            throw S3Error(status: 400, code: "KeyTooLongError", message: "Your key is too long")
        }
        return key
    }

    func s3RequireBucket(_ bucket: String, in state: S3State) throws {
        if state.buckets[bucket] == nil { throw S3Error.noSuchBucket(bucket) }
    }

    /// `x-amz-meta-*` of a request (names lower-cased, without the prefix); at most 2 KB in all, as S3 allows.
    func s3Metadata(_ request: Request) throws -> [String: String] {
        var metadata: [String: String] = [:]
        var size = 0
        for field in request.headers where field.name.canonicalName.hasPrefix("x-amz-meta-") {
            let name = String(field.name.canonicalName.dropFirst("x-amz-meta-".count))
            metadata[name] = field.value
            size += name.utf8.count + field.value.utf8.count
        }
        if size > 2048 {
            throw S3Error(
                status: 400, code: "MetadataTooLarge",
                message: "Your metadata headers exceed the maximum allowed metadata size")
        }
        return metadata
    }

    // MARK: Handlers

    func s3CreateBucket(_ bucket: String) throws -> Response {
        let valid = (3...63).contains(bucket.count)
            && bucket.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
        guard valid else {
            throw S3Error(status: 400, code: "InvalidBucketName", message: "The specified bucket is not valid.", details: [("BucketName", bucket)])
        }
        core.s3.withLockedValue { state in
            if state.buckets[bucket] == nil { state.buckets[bucket] = [:] }
        }
        return Response(status: .ok, headers: [.location: "/\(bucket)"])
    }

    func s3Put(_ bucket: String, _ key: String, _ request: Request) async throws -> Response {
        let metadata = try await beforeBody(request) { () throws -> [String: String] in
            guard !key.isEmpty else { throw S3Error.invalidArgument("A PUT needs an object key.") }
            try core.s3.withLockedValue { try s3RequireBucket(bucket, in: $0) }
            return try s3Metadata(request)
        }
        let bytes = try await s3Body(request, limit: min(Self.s3MaxSinglePut, core.configuration.maxUploadBytes))
        let record = S3ObjectRecord(
            key: key, bytes: bytes, etag: SimulatorCore.s3ETag(bytes), lastModified: SimulatorCore.now(),
            contentType: request.headers[.contentType] ?? "binary/octet-stream", metadata: metadata)
        try core.s3.withLockedValue { state in
            try s3RequireBucket(bucket, in: state)
            state.buckets[bucket]![key] = record
        }
        if let failure = s3AcceptThenFail() { return failure }
        return Response(status: .ok, headers: [.eTag: record.etag])
    }

    /// A stored object answered with 500 anyway (`acceptThenFailRate`).
    func s3AcceptThenFail() -> Response? {
        guard core.draw(core.currentPlan().acceptThenFailRate) else { return nil }
        core.countAcceptThenFail()
        return S3Error.injected(status: 500).response()
    }

    func s3Get(_ bucket: String, _ key: String, head: Bool) throws -> Response {
        let record = try core.s3.withLockedValue { state -> S3ObjectRecord in
            try s3RequireBucket(bucket, in: state)
            guard let record = state.buckets[bucket]![key] else { throw S3Error.noSuchKey(key) }
            return record
        }
        var headers: HTTPFields = [
            .eTag: record.etag, .lastModified: Self.httpDate(record.lastModified), .contentType: record.contentType,
            HeaderName("x-amz-storage-class")!: "STANDARD", .acceptRanges: "bytes",
        ]
        for (name, value) in record.metadata.sorted(by: { $0.key < $1.key }) {
            headers[HeaderName("x-amz-meta-" + name)!] = value
        }
        if head {
            headers[.contentLength] = String(record.bytes.count)
            return Response(status: .ok, headers: headers)
        }
        core.countBytes(downloaded: Int64(record.bytes.count))
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: record.bytes)))
    }

    /// 204 whether or not the key exists (an unversioned bucket).
    func s3Delete(_ bucket: String, _ key: String) throws -> Response {
        try core.s3.withLockedValue { state in
            try s3RequireBucket(bucket, in: state)
            state.buckets[bucket]!.removeValue(forKey: key)
        }
        return Response(status: .noContent)
    }

    /// ListObjectsV2: keys under `prefix` in UTF-8 byte order, at most `max-keys` (≤ 1000) a page, an opaque
    /// continuation token naming the last key returned.
    func s3List(_ bucket: String, _ request: Request) throws -> Response {
        let query = S3Query(request.uri.query)
        guard query["list-type"] == "2" else {
            throw S3Error.notImplemented("The simulator speaks ListObjectsV2 only: send list-type=2.")
        }
        if query["delimiter"] != nil || query["encoding-type"] != nil {
            throw S3Error.notImplemented("The simulator does not take delimiter or encoding-type.")
        }
        let prefix = query["prefix"] ?? ""
        var maxKeys = 1000
        if let text = query["max-keys"] {
            guard let value = Int(text), value >= 0 else {
                throw S3Error(status: 400, code: "InvalidArgument", message: "Provided max-keys not an integer or within integer range")
            }
            maxKeys = min(value, 1000)
        }
        var after = query["start-after"] ?? ""
        let token = query["continuation-token"]
        if let token {
            guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
                text.hasPrefix("ferry-sim:")
            else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect")
            }
            after = String(text.dropFirst("ferry-sim:".count))
        }
        let lag = core.currentPlan().listLagSeconds
        let now = SimulatorCore.now()
        let records = try core.s3.withLockedValue { state -> [S3ObjectRecord] in
            try s3RequireBucket(bucket, in: state)
            return Array(state.buckets[bucket]!.values)
        }
        let afterBytes = Array(after.utf8)
        let matching = records.filter { $0.key.hasPrefix(prefix) && (lag <= 0 || now - $0.lastModified >= lag) }
            .filter { afterBytes.isEmpty || afterBytes.lexicographicallyPrecedes(Array($0.key.utf8)) }
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        let page = Array(matching.prefix(maxKeys))
        let truncated = matching.count > page.count
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        xml += "<Name>\(s3Escape(bucket))</Name><Prefix>\(s3Escape(prefix))</Prefix>"
        xml += "<KeyCount>\(page.count)</KeyCount><MaxKeys>\(maxKeys)</MaxKeys>"
        xml += "<IsTruncated>\(truncated)</IsTruncated>"
        if let token { xml += "<ContinuationToken>\(s3Escape(token))</ContinuationToken>" }
        if truncated, let last = page.last {
            let next = Data("ferry-sim:\(last.key)".utf8).base64EncodedString()
            xml += "<NextContinuationToken>\(next)</NextContinuationToken>"
        }
        for record in page {
            xml += "<Contents><Key>\(s3Escape(record.key))</Key>"
            xml += "<LastModified>\(Self.isoDate(record.lastModified))</LastModified>"
            xml += "<ETag>\(s3Escape(record.etag))</ETag><Size>\(record.bytes.count)</Size>"
            xml += "<StorageClass>STANDARD</StorageClass></Contents>"
        }
        xml += "</ListBucketResult>"
        return Response(
            status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
    }

    // MARK: Multipart

    func s3StartMultipart(_ bucket: String, _ key: String, _ request: Request) async throws -> Response {
        await drain(request)
        guard !key.isEmpty else { throw S3Error.invalidArgument("A multipart upload needs an object key.") }
        let metadata = try s3Metadata(request)
        let contentType = request.headers[.contentType] ?? "binary/octet-stream"
        let id = try core.s3.withLockedValue { state -> String in
            try s3RequireBucket(bucket, in: state)
            state.uploadCounter += 1
            let id = Data("ferry-sim-upload-\(state.uploadCounter)-\(UInt64.random(in: 0...UInt64.max))".utf8)
                .base64EncodedString()
            state.uploads[id] = S3MultipartUpload(
                bucket: bucket, key: key, contentType: contentType, metadata: metadata, parts: [:])
            return id
        }
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<Bucket>\(s3Escape(bucket))</Bucket><Key>\(s3Escape(key))</Key><UploadId>\(id)</UploadId>"
            + "</InitiateMultipartUploadResult>"
        return Response(
            status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
    }

    func s3UploadPart(_ bucket: String, _ key: String, _ query: S3Query, _ request: Request) async throws -> Response {
        let (id, number) = try await beforeBody(request) { () throws -> (String, Int) in
            guard let id = query["uploadId"], let number = query["partNumber"].flatMap({ Int($0) }),
                (1...10_000).contains(number)
            else {
                throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
            }
            try core.s3.withLockedValue { state in
                guard let upload = state.uploads[id], upload.bucket == bucket, upload.key == key else {
                    throw S3Error.noSuchUpload(id)
                }
            }
            return (id, number)
        }
        let bytes = try await s3Body(request, limit: Self.s3MaxSinglePut)
        let etag = SimulatorCore.s3ETag(bytes)
        try core.s3.withLockedValue { state in
            guard state.uploads[id] != nil else { throw S3Error.noSuchUpload(id) }
            state.uploads[id]!.parts[number] = (etag, bytes)
        }
        return Response(status: .ok, headers: [.eTag: etag])
    }

    func s3CompleteMultipart(_ bucket: String, _ key: String, _ id: String, _ request: Request) async throws -> Response {
        let body = String(decoding: try await s3Body(request, limit: 1 << 20), as: UTF8.self)
        // <Part><PartNumber>N</PartNumber><ETag>"…"</ETag></Part>…
        var listed: [(Int, String)] = []
        for part in body.components(separatedBy: "<Part>").dropFirst() {
            guard let number = Self.element("PartNumber", in: part).flatMap({ Int($0) }),
                let etag = Self.element("ETag", in: part)
            else {
                throw S3Error(status: 400, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema")
            }
            listed.append((number, etag.replacingOccurrences(of: "&quot;", with: "\"")))
        }
        guard !listed.isEmpty else {
            throw S3Error(status: 400, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema")
        }
        let record = try core.s3.withLockedValue { state -> S3ObjectRecord in
            guard let upload = state.uploads[id], upload.bucket == bucket, upload.key == key else {
                throw S3Error.noSuchUpload(id)
            }
            var previous = 0
            var bytes: [UInt8] = []
            var digests: [UInt8] = []
            for (index, (number, etag)) in listed.enumerated() {
                guard number > previous else {
                    throw S3Error(status: 400, code: "InvalidPartOrder", message: "The list of parts was not in ascending order. The parts list must be specified in order of the part number.")
                }
                previous = number
                guard let part = upload.parts[number], part.etag == etag else {
                    throw S3Error(status: 400, code: "InvalidPart", message: "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.", details: [("PartNumber", String(number)), ("ETag", etag)])
                }
                if index < listed.count - 1, part.bytes.count < Self.s3MinPartBytes {
                    throw S3Error(status: 400, code: "EntityTooSmall", message: "Your proposed upload is smaller than the minimum allowed object size.", details: [("PartNumber", String(number))])
                }
                bytes += part.bytes
                digests += Array(Insecure.MD5.hash(data: part.bytes))
            }
            let etag = "\"" + Self.hex(Insecure.MD5.hash(data: digests)) + "-\(listed.count)\""
            let record = S3ObjectRecord(
                key: key, bytes: bytes, etag: etag, lastModified: SimulatorCore.now(), contentType: upload.contentType,
                metadata: upload.metadata)
            try s3RequireBucket(bucket, in: state)
            state.buckets[bucket]![key] = record
            state.uploads.removeValue(forKey: id)
            return record
        }
        if let failure = s3AcceptThenFail() { return failure }
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<Location>/\(s3Escape(bucket))/\(s3Escape(key))</Location><Bucket>\(s3Escape(bucket))</Bucket>"
            + "<Key>\(s3Escape(key))</Key><ETag>\(s3Escape(record.etag))</ETag></CompleteMultipartUploadResult>"
        return Response(
            status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
    }

    func s3AbortMultipart(_ bucket: String, _ key: String, _ id: String) throws -> Response {
        try core.s3.withLockedValue { state in
            guard let upload = state.uploads[id], upload.bucket == bucket, upload.key == key else {
                throw S3Error.noSuchUpload(id)
            }
            state.uploads.removeValue(forKey: id)
        }
        return Response(status: .noContent)
    }

    static func element(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `2026-01-01T12:00:00.000Z`.
    static func isoDate(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// `Thu, 01 Jan 2026 12:00:00 GMT`.
    static func httpDate(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// A raw query string's parameters, percent-decoded (`+` stays a plus, as S3 reads it), in order.
struct S3Query {
    let pairs: [(String, String)]

    init(_ query: String?) {
        pairs = (query ?? "").split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    func has(_ name: String) -> Bool { pairs.contains { $0.0 == name } }

    /// SigV4's canonical query: each name and value encoded (RFC 3986 unreserved kept), sorted, `name=` if empty.
    var canonical: String {
        func encode(_ text: String) -> String {
            var output = ""
            for byte in text.utf8 {
                let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
                output += unreserved ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
            }
            return output
        }
        let encoded: [(String, String)] = pairs.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }
}
