import Foundation
import Hummingbird

/// Purposes each flavor accepts on create (from the providers' published API specs).
enum Purposes {
    static let openai: [String] = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
    static let azure: [String] = [
        "fine-tune", "fine-tune-results", "assistants", "assistants_output", "batch", "batch_output", "evals",
        "evals_output",
    ]

    static func accepted(_ flavor: SimulatorFlavor) -> [String] { flavor == .openai ? openai : azure }
}

/// OpenAI (`/v1/files`) and Azure OpenAI (`/openai/files`) Files API: list, create, retrieve, delete, content.
extension SimulatorRoutes {
    func addFilesRoutes(_ router: Router<SimRequestContext>) {
        // OpenAI
        router.get("/v1/files") { request, context in
            await self.provider(.openai, "list", "GET /v1/files", request, context) { tenant in
                try self.listFiles(.openai, tenant, request)
            }
        }
        router.post("/v1/files") { request, context in
            await self.provider(.openai, "create", "POST /v1/files", request, context) { tenant in
                try await self.createFile(.openai, tenant, request)
            }
        }
        router.get("/v1/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "retrieve", "GET /v1/files/{id}", request, context) { tenant in
                try self.retrieveFile(.openai, tenant, id)
            }
        }
        router.delete("/v1/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "delete", "DELETE /v1/files/{id}", request, context) { tenant in
                try self.deleteFile(.openai, tenant, id)
            }
        }
        router.get("/v1/files/:id/content") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "content", "GET /v1/files/{id}/content", request, context) { tenant in
                try self.fileContent(.openai, tenant, id)
            }
        }

        // Azure OpenAI
        router.get("/openai/files") { request, context in
            await self.provider(.azure, "list", "GET /openai/files", request, context) { tenant in
                try self.listFiles(.azure, tenant, request)
            }
        }
        router.post("/openai/files") { request, context in
            await self.provider(.azure, "create", "POST /openai/files", request, context) { tenant in
                try await self.createFile(.azure, tenant, request)
            }
        }
        router.get("/openai/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.azure, "retrieve", "GET /openai/files/{id}", request, context) { tenant in
                try self.retrieveFile(.azure, tenant, id)
            }
        }
        router.delete("/openai/files/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.azure, "delete", "DELETE /openai/files/{id}", request, context) { tenant in
                try self.deleteFile(.azure, tenant, id)
            }
        }
        router.get("/openai/files/:id/content") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.azure, "content", "GET /openai/files/{id}/content", request, context) {
                tenant in
                try self.fileContent(.azure, tenant, id)
            }
        }
    }

    func fileObject(_ record: FileRecord, now: Double) -> JSON {
        .object([
            ("id", .string(record.id)),
            ("object", .string("file")),
            ("bytes", .int(record.bytes)),
            ("created_at", .int(record.createdAt)),
            ("expires_at", .optionalInt(record.expiresAt)),
            ("filename", .string(record.filename)),
            ("purpose", .string(record.purpose)),
            ("status", .string(core.status(of: record, now: now))),
            ("status_details", .null),
        ])
    }

    func listFiles(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let purpose = query.get("purpose").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        var limit = 10_000
        if let raw = query.get("limit") {
            guard let value = Int(raw) else {
                throw ProviderError.invalidRequest(
                    "Invalid 'limit': expected an integer, but got '\(raw)' instead.", param: "limit",
                    code: "invalid_type")
            }
            guard value >= 1 else {
                throw ProviderError.invalidRequest(
                    "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got \(value) instead.",
                    param: "limit", code: "integer_below_min_value")
            }
            guard value <= 10_000 else {
                throw ProviderError.invalidRequest(
                    "Invalid 'limit': integer above maximum value. Expected a value <= 10000, but got \(value) instead.",
                    param: "limit", code: "integer_above_max_value")
            }
            limit = value
        }
        let order = query.get("order").map { String($0) } ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw ProviderError.invalidRequest(
                "Invalid value for 'order': expected one of 'asc' or 'desc', but got '\(order)' instead.",
                param: "order", code: "invalid_value")
        }
        let after = query.get("after").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        let now = SimulatorCore.now()
        let page: [FileRecord]
        let hasMore: Bool
        do {
            (page, hasMore) = try core.list(
                tenant, purpose: purpose, descending: order == "desc", after: after, limit: limit, now: now)
        } catch {
            throw ProviderError.invalidRequest(
                "Invalid 'after': no such File object: \(after ?? "")", param: "after", code: "invalid_value")
        }
        return jsonResponse(
            .object([
                ("object", .string("list")),
                ("data", .array(page.map { fileObject($0, now: now) })),
                ("first_id", .optionalString(page.first?.id)),
                ("last_id", .optionalString(page.last?.id)),
                ("has_more", .bool(hasMore)),
            ]))
    }

    func retrieveFile(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String) throws -> Response {
        let now = SimulatorCore.now()
        guard let record = core.file(tenant, id: id, now: now) else { throw ProviderError.notFound(id, flavor: flavor) }
        return jsonResponse(fileObject(record, now: now))
    }

    func deleteFile(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String) throws -> Response {
        guard core.file(tenant, id: id, now: SimulatorCore.now()) != nil, core.deleteFile(tenant, id: id) else {
            throw ProviderError.notFound(id, flavor: flavor)
        }
        return jsonResponse(.object([("id", .string(id)), ("object", .string("file")), ("deleted", .bool(true))]))
    }

    func fileContent(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ id: String) throws -> Response {
        guard let record = core.file(tenant, id: id, now: SimulatorCore.now()),
            let content = core.content(of: tenant, id: id)
        else { throw ProviderError.notFound(id, flavor: flavor) }
        if record.sha256 == ContentWriter.discardedDigest {
            throw ProviderError.contentDiscarded(id)
        }
        if core.configuration.restrictDownloads, flavor == .openai, record.purpose == "assistants" {
            throw ProviderError.invalidRequest("Not allowed to download files of purpose: assistants", param: nil)
        }
        core.countBytes(downloaded: record.bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .contentLength: String(record.bytes)],
            body: ContentReader.responseBody(content, length: record.bytes)
        )
    }

    func createFile(_ flavor: SimulatorFlavor, _ tenant: TenantID, _ request: Request) async throws -> Response {
        // With `--content discard` the bytes are read and counted, never kept: no file object of either wire
        // format carries a digest, so none is computed either.
        let keepBytes = core.configuration.content == .keep
        let form = try await readForm(
            request, fileField: "file", maxFileBytes: core.configuration.maxUploadBytes, keepBytes: keepBytes)
        guard let content = form.file else {
            throw ProviderError.invalidRequest("Missing required parameter: 'file'.", param: "file")
        }
        guard let filename = form.filename, !filename.isEmpty else {
            content.discard()
            throw ProviderError.invalidRequest("The 'file' part must have a filename.", param: "file")
        }
        guard let purpose = form.fields["purpose"], !purpose.isEmpty else {
            content.discard()
            throw ProviderError.invalidRequest("Missing required parameter: 'purpose'.", param: "purpose")
        }
        let accepted = Purposes.accepted(flavor)
        guard accepted.contains(purpose) else {
            content.discard()
            let list = accepted.map { "'\($0)'" }.joined(separator: ", ")
            throw ProviderError.invalidRequest(
                "Invalid value for 'purpose': '\(purpose)' is not one of [\(list)].", param: "purpose",
                code: "invalid_value")
        }
        let expiresAfter: Int64?
        do {
            expiresAfter = try expiry(flavor, form.fields)
        } catch {
            content.discard()
            throw error
        }
        let (stored, sha, _) = try content.finish()
        let id = core.reserveFileID(flavor: flavor)
        let record = try core.commitFile(
            tenant: tenant, id: id, filename: filename, purpose: purpose, content: stored, size: content.size,
            sha256: keepBytes ? sha : ContentWriter.discardedDigest, expiresAfterSeconds: expiresAfter)
        if let failure = acceptThenFail(record, flavor) { return failure }
        let now = SimulatorCore.now()
        switch flavor {
        case .openai, .gcs, .anthropic, .gemini:
            return jsonResponse(fileObject(record, now: now))
        case .azure:
            let authority = request.head.authority ?? "127.0.0.1"
            let version = request.uri.queryParameters.get("api-version").map { String($0) } ?? ""
            return jsonResponse(
                fileObject(record, now: now), status: 201,
                headers: [.locationHeader: "http://\(authority)/openai/files/\(record.id)?api-version=\(version)"])
        }
    }

    /// Counts a created file's bytes, then draws `acceptThenFailRate`: the 500 to answer although the file stays
    /// stored, or nil to answer normally.
    func acceptThenFail(_ record: FileRecord, _ flavor: SimulatorFlavor) -> Response? {
        core.countBytes(uploaded: record.bytes)
        guard core.draw(core.currentPlan().acceptThenFailRate) else { return nil }
        core.countAcceptThenFail()
        return ProviderError.internalError.response(flavor)
    }

    /// `expires_after[anchor]`/`expires_after[seconds]` (OpenAI) or `expires_after.anchor`/`.seconds` (Azure).
    func expiry(_ flavor: SimulatorFlavor, _ fields: [String: String]) throws -> Int64? {
        let anchor = fields["expires_after[anchor]"] ?? fields["expires_after.anchor"]
        let seconds = fields["expires_after[seconds]"] ?? fields["expires_after.seconds"]
        if anchor == nil && seconds == nil { return nil }
        guard anchor == "created_at" else {
            throw ProviderError.invalidRequest(
                "Invalid 'expires_after.anchor': expected 'created_at'.", param: "expires_after")
        }
        let range: ClosedRange<Int64> = flavor == .openai ? 3600...2_592_000 : 1_209_600...2_592_000
        guard let value = seconds.flatMap({ Int64($0) }), range.contains(value) else {
            throw ProviderError.invalidRequest(
                "Invalid 'expires_after.seconds': expected an integer between \(range.lowerBound) and \(range.upperBound).",
                param: "expires_after")
        }
        return value
    }
}

extension ProviderError {
    /// 410 for the content of a file whose bytes were dropped (`SimulatorContentMode.discard`).
    static func contentDiscarded(_ id: String) -> ProviderError {
        ProviderError(
            status: 410,
            message:
                "The simulator runs with content mode 'discard' (ferry simulator --content discard): it counted the bytes of \(id) but kept none, so there is no content to download. Run it with --content keep (the default) to read files back.",
            type: "invalid_request_error", param: "id", code: "content_discarded", azureCode: "contentDiscarded")
    }
}
