import Foundation
import Hummingbird
import Logging

/// Request context that can also drop the connection (for `resetConnectionRate`).
struct SimRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let closeConnection: @Sendable () -> Void

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        let channel = source.channel
        self.closeConnection = { channel.close(promise: nil) }
    }
}

struct ConnectionResetInjected: Error {}

/// Purposes each flavor accepts on create (from the providers' published API specs).
enum Purposes {
    static let openai: [String] = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
    static let azure: [String] = [
        "fine-tune", "fine-tune-results", "assistants", "assistants_output", "batch", "batch_output", "evals",
        "evals_output",
    ]

    static func accepted(_ flavor: SimulatorFlavor) -> [String] { flavor == .openai ? openai : azure }
}

/// The HTTP side: routes, the per-request fault pipeline and the Files API handlers.
struct SimulatorRoutes: Sendable {
    let core: SimulatorCore

    func makeRouter() -> Router<SimRequestContext> {
        let router = Router(context: SimRequestContext.self)

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

        addUploadRoutes(router)
        addGCSRoutes(router)
        addAdminRoutes(router)
        return router
    }

    // MARK: Pipeline

    /// Counts the request, applies latency and faults, checks api-version and the key, then runs `handler`.
    func provider(
        _ flavor: SimulatorFlavor, _ operation: String, _ routeKey: String, _ request: Request,
        _ context: SimRequestContext, _ handler: (TenantID) async throws -> Response
    ) async -> Response {
        if HeaderEcho.headers == nil, core.currentPlan().echoRequestHeaders {
            return await HeaderEcho.$headers.withValue(HeaderEcho.capture(request)) {
                await provider(flavor, operation, routeKey, request, context, handler)
            }
        }
        core.countRequest(routeKey)
        core.enter()
        defer { core.leave() }
        let plan = core.currentPlan()
        if plan.latencyMilliseconds > 0 {
            try? await Task.sleep(for: .milliseconds(plan.latencyMilliseconds))
        }
        var response: Response
        if core.draw(plan.resetConnectionRate) {
            core.countReset()
            context.closeConnection()
            // Nothing reaches the client: the connection is already closed.
            return Response(status: .internalServerError)
        }
        if core.draw(plan.errorRate(for: operation)) {
            await drain(request)
            let status = core.pickStatus(plan.errorStatuses)
            core.countInjectedError(status)
            response = ProviderError.injected(status: status, retryAfter: plan.retryAfterSeconds).response(flavor)
        } else if flavor == .azure, (request.uri.queryParameters.get("api-version") ?? "").isEmpty {
            await drain(request)
            response = ProviderError.missingAPIVersion.response(flavor)
        } else if let key = apiKey(flavor, request) {
            do {
                response = try await handler(TenantID(flavor: flavor, apiKey: key))
            } catch let error as ProviderError {
                // Handlers consume their own bodies; the server drops any rest after answering.
                response = error.response(flavor)
            } catch {
                var failure = ProviderError.internalError
                failure.message = "The simulator failed: \(error)"
                response = failure.response(flavor)
            }
        } else {
            await drain(request)
            response = ProviderError.unauthorized(flavor).response(flavor)
        }
        response.headers[.requestIDHeader] = core.newRequestID()
        core.countResponse(Int(response.status.code))
        return response
    }

    /// The API key of a request: OpenAI `Authorization: Bearer KEY`; Azure `api-key: KEY` (or bearer).
    func apiKey(_ flavor: SimulatorFlavor, _ request: Request) -> String? {
        if flavor == .azure, let key = request.headers[.apiKeyHeader]?.trimmingCharacters(in: .whitespaces),
            !key.isEmpty
        {
            return key
        }
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        return key.isEmpty ? nil : key
    }

    /// Reads and drops whatever is left of the request body, so an early answer arrives cleanly.
    func drain(_ request: Request) async {
        do {
            for try await _ in request.body {}
        } catch {}
    }

    // MARK: Files

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
        let record: FileRecord
        do {
            record = try core.commitFile(
                tenant: tenant, id: id, filename: filename, purpose: purpose, content: stored, size: content.size,
                sha256: keepBytes ? sha : ContentWriter.discardedDigest, expiresAfterSeconds: expiresAfter)
        } catch {
            if case .disk(let path) = stored { unlink(path) }
            throw error
        }
        core.countBytes(uploaded: record.bytes)
        if core.draw(core.currentPlan().acceptThenFailRate) {
            core.countAcceptThenFail()
            return ProviderError.internalError.response(flavor)
        }
        let now = SimulatorCore.now()
        switch flavor {
        case .openai, .gcs:
            return jsonResponse(fileObject(record, now: now))
        case .azure:
            let authority = request.head.authority ?? "127.0.0.1"
            let version = request.uri.queryParameters.get("api-version").map { String($0) } ?? ""
            return jsonResponse(
                fileObject(record, now: now), status: 201,
                headers: [.locationHeader: "http://\(authority)/openai/files/\(record.id)?api-version=\(version)"])
        }
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

    // MARK: Multipart bodies

    struct Form {
        var fields: [String: String]
        var file: ContentWriter?
        var filename: String?
        var fileContentType: String?
    }

    /// Streams a multipart body: the part named `fileField` goes to disk (or memory), other parts
    /// are small text fields. Always consumes the whole body before answering.
    /// `keepBytes: false` counts the file part's bytes and drops them (`SimulatorContentMode.discard`).
    func readForm(_ request: Request, fileField: String, maxFileBytes: Int64, keepBytes: Bool = true) async throws
        -> Form
    {
        guard let contentType = request.headers[.contentType],
            let boundary = MultipartParser.boundary(fromContentType: contentType)
        else {
            await drain(request)
            throw ProviderError.invalidRequest(
                "Invalid Content-Type header (\(request.headers[.contentType] ?? "none")), expected multipart/form-data with a boundary.",
                param: nil)
        }
        let core = self.core
        // The file part is at most the body: reserving that much in memory saves copying it as the buffer grows.
        let expected = request.headers[.contentLength].flatMap { Int64($0) }.map { min($0, maxFileBytes) }
        var sink = FormSink(fileField: fileField, maxFileBytes: maxFileBytes) {
            try keepBytes
                ? ContentWriter(path: core.newTempPath(), expectedBytes: expected)
                : ContentWriter(path: nil, keepBytes: false)
        }
        var parser = MultipartParser(boundary: boundary)
        var failure: (any Error)?
        var total: Int64 = 0
        let maxBody = maxFileBytes + 1024 * 1024
        do {
            for try await chunk in request.body {
                total += Int64(chunk.readableBytes)
                if failure != nil || sink.tooLarge { continue }
                if total > maxBody {
                    sink.tooLarge = true
                    continue
                }
                do {
                    try chunk.withUnsafeReadableBytes { try parser.feed($0, sink: &sink) }
                } catch {
                    failure = error
                }
            }
        } catch {
            sink.file?.discard()
            throw error
        }
        if sink.tooLarge {
            sink.file?.discard()
            throw ProviderError.tooLarge(
                "File is too large: the maximum size is \(maxFileBytes) bytes.", param: fileField)
        }
        if failure == nil {
            do { try parser.finish() } catch { failure = error }
        }
        if let failure {
            sink.file?.discard()
            throw ProviderError.invalidRequest("\(failure)", param: nil)
        }
        if sink.fileParts > 1 || sink.fieldTooLarge {
            sink.file?.discard()
            throw ProviderError.invalidRequest(
                sink.fileParts > 1 ? "Only one '\(fileField)' part is allowed." : "A form field is too large.",
                param: sink.fileParts > 1 ? fileField : nil)
        }
        return Form(fields: sink.fields, file: sink.file, filename: sink.filename, fileContentType: sink.contentType)
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

/// Collects text fields and streams the file part of a multipart body.
struct FormSink: MultipartSink {
    static let maxFieldBytes = 64 * 1024

    let fileField: String
    let maxFileBytes: Int64
    let makeWriter: () throws -> ContentWriter

    var fields: [String: String] = [:]
    var file: ContentWriter?
    var filename: String?
    var contentType: String?
    var fileParts = 0
    var tooLarge = false
    var fieldTooLarge = false

    private var inFile = false
    private var fieldName: String?
    private var fieldBytes: [UInt8] = []

    init(fileField: String, maxFileBytes: Int64, makeWriter: @escaping () throws -> ContentWriter) {
        self.fileField = fileField
        self.maxFileBytes = maxFileBytes
        self.makeWriter = makeWriter
    }

    mutating func beginPart(_ headers: MultipartPartHeaders) throws {
        inFile = false
        fieldName = nil
        fieldBytes = []
        guard let name = headers.name else { return }
        if name == fileField {
            fileParts += 1
            guard fileParts == 1 else { return }
            filename = headers.filename
            contentType = headers.contentType
            file = try makeWriter()
            inFile = true
        } else {
            fieldName = name
        }
    }

    mutating func partData(_ bytes: UnsafeRawBufferPointer) throws {
        if inFile, let file {
            if tooLarge { return }
            if file.size + Int64(bytes.count) > maxFileBytes {
                tooLarge = true
                file.discard()
                return
            }
            try file.write(bytes)
        } else if fieldName != nil {
            if fieldBytes.count + bytes.count > FormSink.maxFieldBytes {
                fieldTooLarge = true
                return
            }
            fieldBytes.append(contentsOf: bytes)
        }
    }

    mutating func endPart() throws {
        if let fieldName, fields[fieldName] == nil {
            fields[fieldName] = String(decoding: fieldBytes, as: UTF8.self)
        }
        inFile = false
        fieldName = nil
        fieldBytes = []
    }
}
