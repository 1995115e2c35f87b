import Foundation
import Hummingbird

/// OpenAI Uploads API: create an upload, add parts, complete it into a file (or cancel it).
extension SimulatorRoutes {
    static let maxUploadTotalBytes: Int64 = 8 * 1024 * 1024 * 1024
    static let maxPartBytes: Int64 = 64 * 1024 * 1024
    static let uploadLifetimeSeconds: Int64 = 3600

    func addUploadRoutes(_ router: Router<SimRequestContext>) {
        router.post("/v1/uploads") { request, context in
            await self.provider(.openai, "upload_create", "POST /v1/uploads", request, context) { tenant in
                try await self.createUpload(tenant, request)
            }
        }
        router.post("/v1/uploads/:id/parts") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "upload_part", "POST /v1/uploads/{id}/parts", request, context) {
                tenant in
                try await self.addPart(tenant, id, request)
            }
        }
        router.post("/v1/uploads/:id/complete") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "upload_complete", "POST /v1/uploads/{id}/complete", request, context) {
                tenant in
                try await self.completeUpload(tenant, id, request)
            }
        }
        router.post("/v1/uploads/:id/cancel") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await self.provider(.openai, "upload_cancel", "POST /v1/uploads/{id}/cancel", request, context) {
                tenant in
                await self.drain(request)
                return try self.cancelUpload(tenant, id)
            }
        }
    }

    func uploadObject(_ upload: UploadRecord, file: FileRecord?, now: Double) -> JSON {
        .object([
            ("id", .string(upload.id)),
            ("object", .string("upload")),
            ("bytes", .int(upload.bytes)),
            ("created_at", .int(upload.createdAt)),
            ("filename", .string(upload.filename)),
            ("purpose", .string(upload.purpose)),
            ("status", .string(upload.status)),
            ("expires_at", .int(upload.expiresAt)),
            ("file", file.map { fileObject($0, now: now) } ?? .null),
        ])
    }

    struct CreateUploadBody: Decodable {
        var filename: String?
        var purpose: String?
        var bytes: Int64?
        var mime_type: String?
        var expires_after: ExpiresAfterBody?
    }

    struct ExpiresAfterBody: Decodable {
        var anchor: String?
        var seconds: Int64?
    }

    struct CompleteUploadBody: Decodable {
        var part_ids: [String]?
        var md5: String?
    }

    /// The upload, with expiry applied (an expired upload drops its parts).
    func upload(_ tenant: TenantID, _ id: String, now: Double) throws -> UploadRecord {
        let (upload, dropped) = core.state.withLockedValue { state -> (UploadRecord?, [PartRecord]) in
            guard var upload = state.tenants[tenant]?.uploads[id] else { return (nil, []) }
            var dropped: [PartRecord] = []
            if upload.status == "pending", now >= Double(upload.expiresAt) {
                upload.status = "expired"
                dropped = Array(upload.parts.values)
                upload.parts = [:]
                state.tenants[tenant]?.uploads[id] = upload
            }
            return (upload, dropped)
        }
        removeParts(dropped)
        guard let upload else { throw ProviderError.notFound(id, flavor: .openai, kind: "Upload") }
        return upload
    }

    func removeParts(_ parts: [PartRecord]) {
        for part in parts {
            if case .disk(let path) = part.content { unlink(path) }
        }
    }

    func createUpload(_ tenant: TenantID, _ request: Request) async throws -> Response {
        let body = try await readJSON(CreateUploadBody.self, request)
        guard let filename = body.filename, !filename.isEmpty else {
            throw ProviderError.invalidRequest("Missing required parameter: 'filename'.", param: "filename")
        }
        guard let purpose = body.purpose, !purpose.isEmpty else {
            throw ProviderError.invalidRequest("Missing required parameter: 'purpose'.", param: "purpose")
        }
        guard Purposes.openai.contains(purpose) else {
            let list = Purposes.openai.map { "'\($0)'" }.joined(separator: ", ")
            throw ProviderError.invalidRequest(
                "Invalid value for 'purpose': '\(purpose)' is not one of [\(list)].", param: "purpose",
                code: "invalid_value")
        }
        guard let bytes = body.bytes else {
            throw ProviderError.invalidRequest("Missing required parameter: 'bytes'.", param: "bytes")
        }
        guard (0...SimulatorRoutes.maxUploadTotalBytes).contains(bytes) else {
            throw ProviderError.invalidRequest(
                "Invalid 'bytes': expected a value between 0 and \(SimulatorRoutes.maxUploadTotalBytes).",
                param: "bytes")
        }
        guard let mimeType = body.mime_type, !mimeType.isEmpty else {
            throw ProviderError.invalidRequest("Missing required parameter: 'mime_type'.", param: "mime_type")
        }
        var fileExpiresAfter: Int64?
        if let expiry = body.expires_after {
            // The created file's lifetime, checked like the Files API's multipart fields.
            var fields: [String: String] = [:]
            fields["expires_after[anchor]"] = expiry.anchor ?? ""
            fields["expires_after[seconds]"] = expiry.seconds.map(String.init) ?? ""
            fileExpiresAfter = try self.expiry(.openai, fields)
        }
        let now = SimulatorCore.now()
        var upload = UploadRecord(
            id: core.newUploadID(), filename: filename, purpose: purpose, mimeType: mimeType, bytes: bytes,
            createdAt: Int64(now), expiresAt: Int64(now) + SimulatorRoutes.uploadLifetimeSeconds, status: "pending")
        upload.fileExpiresAfter = fileExpiresAfter
        core.state.withLockedValue { $0.tenants[tenant, default: Tenant()].uploads[upload.id] = upload }
        return jsonResponse(uploadObject(upload, file: nil, now: now))
    }

    func addPart(_ tenant: TenantID, _ id: String, _ request: Request) async throws -> Response {
        let now = SimulatorCore.now()
        let current: UploadRecord
        do {
            current = try upload(tenant, id, now: now)
        } catch {
            await drain(request)
            throw error
        }
        guard current.status == "pending" else {
            await drain(request)
            throw ProviderError.invalidRequest(
                "Cannot add parts to an upload with status '\(current.status)'.", param: nil)
        }
        let form = try await readForm(request, fileField: "data", maxFileBytes: SimulatorRoutes.maxPartBytes)
        guard let writer = form.file else {
            throw ProviderError.invalidRequest("Missing required parameter: 'data'.", param: "data")
        }
        let (content, _, _) = try writer.finish()
        let part = PartRecord(id: core.newPartID(), createdAt: Int64(now), size: writer.size, content: content)
        let added = core.state.withLockedValue { state -> Bool in
            guard var upload = state.tenants[tenant]?.uploads[id], upload.status == "pending" else { return false }
            upload.parts[part.id] = part
            state.tenants[tenant]?.uploads[id] = upload
            return true
        }
        guard added else {
            removeParts([part])
            throw ProviderError.invalidRequest("The upload is no longer pending.", param: nil)
        }
        core.countBytes(uploaded: part.size)
        return jsonResponse(
            .object([
                ("id", .string(part.id)),
                ("object", .string("upload.part")),
                ("created_at", .int(part.createdAt)),
                ("upload_id", .string(id)),
            ]))
    }

    func completeUpload(_ tenant: TenantID, _ id: String, _ request: Request) async throws -> Response {
        let body = try await readJSON(CompleteUploadBody.self, request)
        let now = SimulatorCore.now()
        _ = try upload(tenant, id, now: now)  // applies expiry, 404s
        guard let partIDs = body.part_ids else {
            throw ProviderError.invalidRequest("Missing required parameter: 'part_ids'.", param: "part_ids")
        }
        // Claim the upload so parts cannot change while it is assembled.
        let claimed = core.state.withLockedValue { state -> Result<UploadRecord, ProviderError> in
            guard var upload = state.tenants[tenant]?.uploads[id] else {
                return .failure(.notFound(id, flavor: .openai, kind: "Upload"))
            }
            guard upload.status == "pending" else {
                return .failure(.invalidRequest("Upload \(id) has status '\(upload.status)' and cannot be completed.", param: nil))
            }
            upload.status = "completing"
            state.tenants[tenant]?.uploads[id] = upload
            return .success(upload)
        }
        let upload = try claimed.get()
        func release() {
            core.state.withLockedValue { $0.tenants[tenant]?.uploads[id]?.status = "pending" }
        }
        var parts: [PartRecord] = []
        var seen = Set<String>()
        for partID in partIDs {
            guard let part = upload.parts[partID], seen.insert(partID).inserted else {
                release()
                throw ProviderError.invalidRequest(
                    "Invalid part id '\(partID)': it is unknown, belongs to another upload, or is listed twice.",
                    param: "part_ids")
            }
            parts.append(part)
        }
        let total = parts.reduce(Int64(0)) { $0 + $1.size }
        guard total == upload.bytes else {
            release()
            throw ProviderError.invalidRequest(
                "The number of bytes uploaded (\(total)) does not match the number of bytes declared when the upload was created (\(upload.bytes)).",
                param: "part_ids")
        }
        let writer: ContentWriter
        let assembled: (content: StoredContent, sha256: String?, md5: String?)
        let wantsMD5 = !(body.md5 ?? "").isEmpty
        do {
            writer = try ContentWriter(path: core.newTempPath(), computeMD5: wantsMD5)
            for part in parts { try ContentReader.copy(part.content, into: writer) }
            assembled = try writer.finish()
        } catch {
            release()
            throw error
        }
        if let md5 = body.md5, !md5.isEmpty, md5.lowercased() != assembled.md5 {
            if case .disk(let path) = assembled.content { unlink(path) }
            release()
            throw ProviderError.invalidRequest(
                "The md5 checksum (\(md5)) does not match the uploaded content (\(assembled.md5 ?? "")).", param: "md5")
        }
        let fileID = core.reserveFileID(flavor: .openai)
        let record: FileRecord
        do {
            record = try core.commitFile(
                tenant: tenant, id: fileID, filename: upload.filename, purpose: upload.purpose,
                content: assembled.content, size: writer.size, sha256: assembled.sha256,
                expiresAfterSeconds: upload.fileExpiresAfter)
        } catch {
            release()
            throw error
        }
        let finished = core.state.withLockedValue { state -> UploadRecord? in
            guard var upload = state.tenants[tenant]?.uploads[id] else { return nil }
            upload.status = "completed"
            upload.fileID = record.id
            upload.parts = [:]
            state.tenants[tenant]?.uploads[id] = upload
            return upload
        }
        removeParts(Array(upload.parts.values))
        if core.draw(core.currentPlan().acceptThenFailRate) {
            core.countAcceptThenFail()
            return ProviderError.internalError.response(.openai)
        }
        return jsonResponse(uploadObject(finished ?? upload, file: record, now: SimulatorCore.now()))
    }

    func cancelUpload(_ tenant: TenantID, _ id: String) throws -> Response {
        let now = SimulatorCore.now()
        _ = try upload(tenant, id, now: now)
        let result = core.state.withLockedValue { state -> Result<(UploadRecord, [PartRecord]), ProviderError> in
            guard var upload = state.tenants[tenant]?.uploads[id] else {
                return .failure(.notFound(id, flavor: .openai, kind: "Upload"))
            }
            switch upload.status {
            case "pending":
                let parts = Array(upload.parts.values)
                upload.status = "cancelled"
                upload.parts = [:]
                state.tenants[tenant]?.uploads[id] = upload
                return .success((upload, parts))
            case "cancelled":
                return .success((upload, []))
            default:
                return .failure(
                    .invalidRequest("Upload \(id) has status '\(upload.status)' and cannot be cancelled.", param: nil))
            }
        }
        let (upload, parts) = try result.get()
        removeParts(parts)
        return jsonResponse(uploadObject(upload, file: nil, now: now))
    }
}
