import Foundation
import Hummingbird

/// Gemini API files under the path prefix `/gemini`, so they share a port with the other flavors: a client's base
/// URL is `http://127.0.0.1:PORT/gemini`. Routes: `POST /gemini/upload/v1beta/files` (start a resumable session;
/// with `?upload_id=` it is the session URL: `upload`, `upload, finalize`, `query`, `cancel`), `GET
/// /gemini/v1beta/files` (`pageSize` ≤ 100, `pageToken`, newest first), `GET`/`DELETE /gemini/v1beta/files/{id}`.
///
/// Files are `PROCESSING` for `processingDelay`, then `ACTIVE` (or `FAILED`, see `Simulator.failGeminiFile`), and
/// expire `geminiFileLifetime` after creation. A missing, expired or other key's file answers 403
/// `PERMISSION_DENIED`, as Gemini does. Errors use Google's envelope `{"error":{code, message, status}}`.
extension SimulatorRoutes {
    /// Gemini's per-file limit (2 GB); the simulator's `maxUploadBytes` lowers it further.
    static let geminiMaxFileBytes: Int64 = 2_000_000_000
    static let geminiUploadStatus = HeaderName("X-Goog-Upload-Status")!
    static let geminiUploadURL = HeaderName("X-Goog-Upload-URL")!
    static let geminiUploadCommand = HeaderName("X-Goog-Upload-Command")!
    static let geminiUploadOffset = HeaderName("X-Goog-Upload-Offset")!
    static let geminiSizeReceived = HeaderName("X-Goog-Upload-Size-Received")!
    static let geminiAPIKey = HeaderName("x-goog-api-key")!

    func addGeminiRoutes(_ router: Router<SimRequestContext>) {
        router.post("/gemini/upload/v1beta/files") { request, context in
            if let session = request.uri.queryParameters.get("upload_id") {
                // The session URL authorises the upload by itself: no key.
                return await self.gemini(
                    "upload_part", "POST /gemini/upload/v1beta/files?upload_id", request, context, keyed: false
                ) { _ in
                    try await self.geminiSessionCommand(String(session), request)
                }
            }
            return await self.gemini("upload_create", "POST /gemini/upload/v1beta/files", request, context) {
                tenant in
                try await self.geminiStart(tenant!, request)
            }
        }
        router.get("/gemini/v1beta/files") { request, context in
            await self.gemini("list", "GET /gemini/v1beta/files", request, context) { tenant in
                try self.geminiList(tenant!, request)
            }
        }
        router.get("/gemini/v1beta/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.gemini("retrieve", "GET /gemini/v1beta/files/{id}", request, context) { tenant in
                if id.hasSuffix(":download") {
                    let bare = String(id.dropLast(":download".count))
                    guard self.core.file(tenant!, id: bare, now: SimulatorCore.now()) != nil else {
                        throw ProviderError.geminiGone(bare)
                    }
                    throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Only generated files can be downloaded.")
                }
                guard let record = self.core.file(tenant!, id: id, now: SimulatorCore.now()) else {
                    throw ProviderError.geminiGone(id)
                }
                return jsonResponse(self.geminiFile(record, request))
            }
        }
        router.delete("/gemini/v1beta/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.gemini("delete", "DELETE /gemini/v1beta/files/{id}", request, context) { tenant in
                guard self.core.file(tenant!, id: id, now: SimulatorCore.now()) != nil,
                    self.core.deleteFile(tenant!, id: id)
                else { throw ProviderError.geminiGone(id) }
                return jsonResponse(.object([]))
            }
        }
    }

    /// Faults, then the key (`x-goog-api-key`, or `?key=`) unless the request is to a session URL, then `handler`
    /// with the tenant (nil for a session request: the session knows its tenant).
    func gemini(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext,
        keyed: Bool = true, _ handler: (TenantID?) async throws -> Response
    ) async -> Response {
        await echoingHeaders(request) {
            switch await injectFaults(operation, routeKey, request, context) {
            case .reset:
                return Response(status: .internalServerError)
            case .error(let status, let retryAfter):
                return answered(ProviderError.injected(status: status, retryAfter: retryAfter).response(.gemini))
            case nil:
                break
            }
            var tenant: TenantID?
            if keyed {
                let header = request.headers[Self.geminiAPIKey]?.trimmingCharacters(in: .whitespaces) ?? ""
                let key = header.isEmpty ? (request.uri.queryParameters.get("key").map { String($0) } ?? "") : header
                guard !key.isEmpty else {
                    await drain(request)
                    return answered(ProviderError.unauthorized(.gemini).response(.gemini))
                }
                tenant = TenantID(flavor: .gemini, apiKey: key)
            }
            do {
                return answered(try await handler(tenant))
            } catch let error as ProviderError {
                return answered(error.response(.gemini))
            } catch {
                return answered(ProviderError.gemini(500, "INTERNAL", "The simulator failed: \(error)").response(.gemini))
            }
        }
    }

    // MARK: Objects

    /// Gemini's `File`: `name, displayName, mimeType, sizeBytes (string), createTime, updateTime, expirationTime,
    /// sha256Hash (base64), uri, state, source` and, when `FAILED`, `error`.
    func geminiFile(_ record: FileRecord, _ request: Request) -> JSON {
        let now = SimulatorCore.now()
        let state = core.geminiState(of: record, now: now)
        var members: [(String, JSON)] = [
            ("name", .string("files/\(record.id)")),
            ("displayName", .string(record.filename)),
            ("mimeType", .string(record.mimeType ?? "application/octet-stream")),
            ("sizeBytes", .string(String(record.bytes))),
            // Whole seconds, so that expirationTime is exactly createTime plus the lifetime.
            ("createTime", .string(Self.rfc3339(Double(record.createdAt)))),
            ("updateTime", .string(Self.rfc3339(Double(record.createdAt)))),
        ]
        if let expires = record.expiresAt {
            members.append(("expirationTime", .string(Self.rfc3339(Double(expires)))))
        }
        if let digest = Self.base64(hex: core.sha256(of: record)) { members.append(("sha256Hash", .string(digest))) }
        members += [
            ("uri", .string("\(origin(request))/gemini/v1beta/files/\(record.id)")),
            ("state", .string(state)),
            ("source", .string("UPLOADED")),
        ]
        if state == "FAILED" {
            members.append(
                ("error", .object([("code", .int(Int64(3))), ("message", .string(record.failure ?? "processing failed"))])))
        }
        return .object(members)
    }

    static func base64(hex: String) -> String? {
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return Data(bytes).base64EncodedString()
    }

    func geminiList(_ tenant: TenantID, _ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var size = 10
        if let raw = query.get("pageSize") {
            guard let value = Int(raw), value >= 0 else {
                throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Invalid value for pageSize: '\(raw)'.")
            }
            // Zero means the default; values over 100 are coerced to 100.
            size = value == 0 ? 10 : min(value, 100)
        }
        var after: String?
        if let token = query.get("pageToken"), !token.isEmpty {
            guard token.hasPrefix("pt_") else {
                throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Invalid page token.")
            }
            after = String(token.dropFirst(3))
        }
        let page: [FileRecord]
        let hasMore: Bool
        do {
            (page, hasMore) = try core.list(
                tenant, purpose: nil, descending: true, after: after, limit: size, now: SimulatorCore.now())
        } catch {
            throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Invalid page token.")
        }
        var members: [(String, JSON)] = []
        if !page.isEmpty { members.append(("files", .array(page.map { geminiFile($0, request) }))) }
        if hasMore, let last = page.last { members.append(("nextPageToken", .string("pt_" + last.id))) }
        return jsonResponse(.object(members))
    }
}

extension SimulatorCore {
    /// `PROCESSING` for `processingDelay` after creation, then `ACTIVE`; `FAILED` once marked so.
    func geminiState(of record: FileRecord, now: Double) -> String {
        if now - record.createdAtPrecise < processingDelaySeconds { return "PROCESSING" }
        return record.failure == nil ? "ACTIVE" : "FAILED"
    }

    /// `geminiFileLifetime` in whole seconds (at least 1).
    var geminiLifetimeSeconds: Int64 {
        max(1, configuration.geminiFileLifetime.components.seconds)
    }
}

extension ProviderError {
    /// An error in Google's words: `status` is the canonical code (`INVALID_ARGUMENT`, `PERMISSION_DENIED`, …).
    static func gemini(_ httpStatus: Int, _ status: String, _ message: String) -> ProviderError {
        ProviderError(
            status: httpStatus, message: message, type: status, param: nil, code: nil, azureCode: String(httpStatus))
    }

    /// What Gemini answers for a file that does not exist, expired, or belongs to another project.
    static func geminiGone(_ id: String) -> ProviderError {
        .gemini(
            403, "PERMISSION_DENIED",
            "You do not have permission to access the File \(id) or it may not exist.")
    }

    /// `{"error": {"code", "message", "status"}}`; injected and shared errors get the canonical status for their
    /// HTTP status.
    var geminiEnvelope: JSON {
        let canonical: String
        if type == type.uppercased(), !type.isEmpty, !type.contains(" ") {
            canonical = type
        } else {
            switch status {
            case 400, 413: canonical = "INVALID_ARGUMENT"
            case 401: canonical = "UNAUTHENTICATED"
            case 403: canonical = "PERMISSION_DENIED"
            case 404: canonical = "NOT_FOUND"
            case 429: canonical = "RESOURCE_EXHAUSTED"
            case 501: canonical = "UNIMPLEMENTED"
            case 503, 502: canonical = "UNAVAILABLE"
            case 504: canonical = "DEADLINE_EXCEEDED"
            default: canonical = status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION"
            }
        }
        var members: [(String, JSON)] = [
            ("code", .int(Int64(status))), ("message", .string(message + HeaderEcho.messageSuffix())),
            ("status", .string(canonical)),
        ]
        if let echo = HeaderEcho.member() { members.append(echo) }
        return .object([("error", .object(members))])
    }
}
