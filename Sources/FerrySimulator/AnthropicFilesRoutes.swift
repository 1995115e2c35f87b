import Foundation
import Hummingbird

/// Anthropic's Files API (beta) under the path prefix `/anthropic` (`/anthropic/v1/files…`), so it shares a port
/// with OpenAI's `/v1/files`: a client's base URL is `http://127.0.0.1:PORT/anthropic`. Create, list, retrieve,
/// delete and content, with `FileMetadata` objects, `after_id`/`before_id`/`limit` pages (newest first, like the
/// real API's listing appears to be) and the 500 MB per-file limit.
extension SimulatorRoutes {
    /// Anthropic's per-file limit (500 MB); the simulator's `maxUploadBytes` lowers it further.
    static let anthropicMaxFileBytes: Int64 = 500_000_000
    /// The beta the Files API needs in `anthropic-beta`.
    static let anthropicFilesBeta = "files-api-2025-04-14"

    func addAnthropicRoutes(_ router: Router<SimRequestContext>) {
        router.get("/anthropic/v1/files") { request, context in
            await self.anthropic("list", "GET /anthropic/v1/files", request, context) { tenant in
                try self.anthropicList(tenant, request)
            }
        }
        router.post("/anthropic/v1/files") { request, context in
            await self.anthropic("create", "POST /anthropic/v1/files", request, context) { tenant in
                try await self.anthropicCreate(tenant, request)
            }
        }
        router.get("/anthropic/v1/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.anthropic("retrieve", "GET /anthropic/v1/files/{id}", request, context) { tenant in
                guard let record = self.core.file(tenant, id: id, now: SimulatorCore.now()) else {
                    throw ProviderError.anthropicNotFound(id)
                }
                return jsonResponse(self.anthropicMetadata(record))
            }
        }
        router.delete("/anthropic/v1/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.anthropic("delete", "DELETE /anthropic/v1/files/{id}", request, context) { tenant in
                guard self.core.file(tenant, id: id, now: SimulatorCore.now()) != nil,
                    self.core.deleteFile(tenant, id: id)
                else { throw ProviderError.anthropicNotFound(id) }
                return jsonResponse(.object([("id", .string(id)), ("type", .string("file_deleted"))]))
            }
        }
        router.get("/anthropic/v1/files/:id/content") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.anthropic("content", "GET /anthropic/v1/files/{id}/content", request, context) {
                tenant in
                guard self.core.file(tenant, id: id, now: SimulatorCore.now()) != nil else {
                    throw ProviderError.anthropicNotFound(id)
                }
                // Only files Anthropic's tools create can be downloaded; every file here was uploaded.
                throw ProviderError.invalidRequest("File \(id) is not downloadable.", param: nil)
            }
        }
    }

    /// Faults, then the headers Anthropic requires (`anthropic-version`, the Files beta, `x-api-key`), then
    /// `handler`, through the same pipeline as the other flavors.
    func anthropic(
        _ operation: String, _ routeKey: String, _ request: Request, _ context: SimRequestContext,
        _ handler: (TenantID) async throws -> Response
    ) async -> Response {
        await provider(.anthropic, operation, routeKey, request, context, handler)
    }

    /// The header problem of an Anthropic request, checked before its key: a missing `anthropic-version`, or an
    /// `anthropic-beta` without the Files beta.
    func anthropicHeaderProblem(_ request: Request) -> ProviderError? {
        guard let version = request.headers[.anthropicVersionHeader], !version.isEmpty else {
            return .invalidRequest("anthropic-version: header is required", param: nil)
        }
        let betas = (request.headers[.anthropicBetaHeader] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard betas.contains(Self.anthropicFilesBeta) else {
            return .invalidRequest(
                "The Files API is in beta: send the header 'anthropic-beta: \(Self.anthropicFilesBeta)'.", param: nil)
        }
        return nil
    }

    /// `FileMetadata`: `id, type, filename, mime_type, size_bytes, created_at (RFC 3339), downloadable`.
    func anthropicMetadata(_ record: FileRecord) -> JSON {
        .object([
            ("id", .string(record.id)),
            ("type", .string("file")),
            ("filename", .string(record.filename)),
            ("mime_type", .string(record.mimeType ?? "application/octet-stream")),
            ("size_bytes", .int(record.bytes)),
            ("created_at", .string(Self.rfc3339(record.createdAtPrecise))),
            ("downloadable", .bool(false)),
        ])
    }

    static func rfc3339(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(
            Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    func anthropicList(_ tenant: TenantID, _ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var limit = 20
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...1000).contains(value) else {
                throw ProviderError.invalidRequest("limit: Input should be between 1 and 1000", param: "limit")
            }
            limit = value
        }
        let after = query.get("after_id").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        let before = query.get("before_id").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        if after != nil, before != nil {
            throw ProviderError.invalidRequest("Cannot specify both after_id and before_id", param: nil)
        }
        let page: [FileRecord]
        let hasMore: Bool
        do {
            (page, hasMore) = try core.list(
                tenant, purpose: nil, descending: true, after: after, before: before, limit: limit,
                now: SimulatorCore.now())
        } catch {
            throw ProviderError.anthropicNotFound(after ?? before ?? "")
        }
        return jsonResponse(
            .object([
                ("data", .array(page.map(anthropicMetadata))),
                ("has_more", .bool(hasMore)),
                ("first_id", .optionalString(page.first?.id)),
                ("last_id", .optionalString(page.last?.id)),
            ]))
    }

    func anthropicCreate(_ tenant: TenantID, _ request: Request) async throws -> Response {
        let keepBytes = core.configuration.content == .keep
        let maxBytes = min(core.configuration.maxUploadBytes, Self.anthropicMaxFileBytes)
        let form = try await readForm(request, fileField: "file", maxFileBytes: maxBytes, keepBytes: keepBytes)
        guard let content = form.file else {
            throw ProviderError.invalidRequest("file: Field required", param: "file")
        }
        guard let filename = form.filename, !filename.isEmpty else {
            content.discard()
            throw ProviderError.invalidRequest("file: the part must have a filename", param: "file")
        }
        let forbidden = CharacterSet(charactersIn: "<>:\"|?*\\/").union(.controlCharacters)
        guard filename.count <= 255, filename.unicodeScalars.allSatisfy({ !forbidden.contains($0) }) else {
            content.discard()
            throw ProviderError.invalidRequest(
                "Invalid filename: 1-255 characters, none of < > : \" | ? * \\ / or control characters.",
                param: "file")
        }
        let (stored, sha, _) = try content.finish()
        let id = core.reserveFileID(flavor: .anthropic)
        let record = try core.commitFile(
            tenant: tenant, id: id, filename: filename, purpose: "", content: stored, size: content.size,
            sha256: keepBytes ? sha : ContentWriter.discardedDigest,
            mimeType: form.fileContentType ?? "application/octet-stream")
        if let failure = acceptThenFail(record, .anthropic) { return failure }
        return jsonResponse(anthropicMetadata(record))
    }
}

extension ProviderError {
    /// 404 in Anthropic's words.
    static func anthropicNotFound(_ id: String) -> ProviderError {
        ProviderError(
            status: 404, message: "File not found: \(id)", type: "not_found_error", param: "id", code: nil,
            azureCode: "notFound")
    }
}
