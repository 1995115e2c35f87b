import Foundation
import Hummingbird

/// One Gemini resumable upload session (kept in memory only: sessions do not survive a restart).
struct GeminiSession: Sendable {
    let id: String
    let tenant: TenantID
    let displayName: String
    let mimeType: String
    /// `X-Goog-Upload-Header-Content-Length` of the start, when given.
    let declaredTotal: Int64?
    /// Where the bytes go (nil: `buffer`, in memory).
    var path: String?
    var buffer: ByteBuffer?
    /// Bytes stored so far.
    var persisted: Int64 = 0
    /// A request is writing to it.
    var busy = false
    /// The file the finalize made: later commands on the session answer it.
    var fileID: String?
    var cancelled = false
}

/// Gemini's resumable upload protocol: `start` opens a session (its URL in `X-Goog-Upload-URL`), `upload` appends
/// a chunk at `X-Goog-Upload-Offset` (which must be exactly what the session holds), `upload, finalize` appends
/// the last one and makes the file, `query` says how much it holds (`X-Goog-Upload-Size-Received`) or, once
/// finished, answers the file again, and `cancel` drops it.
extension SimulatorRoutes {
    func geminiStart(_ tenant: TenantID, _ request: Request) async throws -> Response {
        let headers = request.headers
        let total: Int64? = try await beforeBody(request) {
            guard headers[HeaderName("X-Goog-Upload-Protocol")!]?.lowercased() == "resumable" else {
                throw ProviderError.gemini(
                    400, "INVALID_ARGUMENT", "Only X-Goog-Upload-Protocol: resumable is supported here.")
            }
            guard headers[Self.geminiUploadCommand]?.lowercased() == "start" else {
                throw ProviderError.gemini(400, "INVALID_ARGUMENT", "The first request must be X-Goog-Upload-Command: start.")
            }
            guard let raw = headers[HeaderName("X-Goog-Upload-Header-Content-Length")!] else { return nil }
            guard let value = Int64(raw.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Invalid X-Goog-Upload-Header-Content-Length.")
            }
            guard value <= min(core.configuration.maxUploadBytes, Self.geminiMaxFileBytes) else {
                throw ProviderError.gemini(
                    400, "INVALID_ARGUMENT", "File size exceeds the maximum allowed size of 2 GB.")
            }
            return value
        }
        let body = try await readSmallBody(request, limit: 64 * 1024)
        var displayName = ""
        if !body.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw ProviderError.gemini(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            }
            let file = object["file"] as? [String: Any] ?? [:]
            displayName = (file["displayName"] as? String) ?? (file["display_name"] as? String) ?? ""
        }
        guard displayName.count <= 512 else {
            throw ProviderError.gemini(400, "INVALID_ARGUMENT", "displayName must be at most 512 characters.")
        }
        let mimeType = headers[HeaderName("X-Goog-Upload-Header-Content-Type")!] ?? "application/octet-stream"
        let path = core.newTempPath()
        if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw SimIOError("cannot create", path: path) }
            close(fd)
        }
        let id = core.newUploadID()
        core.geminiSessions.withLockedValue {
            $0[id] = GeminiSession(
                id: id, tenant: tenant, displayName: displayName, mimeType: mimeType, declaredTotal: total, path: path,
                buffer: path == nil ? ByteBuffer() : nil)
        }
        let url = "\(origin(request))/gemini/upload/v1beta/files?upload_id=\(id)&upload_protocol=resumable"
        var answer = Response(status: .ok, headers: [.contentLength: "0"], body: ResponseBody())
        answer.headers[Self.geminiUploadURL] = url
        answer.headers[Self.geminiUploadStatus] = "active"
        return answer
    }

    private enum GeminiClaim {
        case ready(GeminiSession)
        case finished(FileRecord?)
    }

    func geminiSessionCommand(_ id: String, _ request: Request) async throws -> Response {
        let commands = Set(
            (request.headers[Self.geminiUploadCommand] ?? "").lowercased().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) })
        let claim = try await beforeBody(request) { () throws -> GeminiClaim in
            try core.geminiSessions.withLockedValue { sessions in
                guard var session = sessions[id], !session.cancelled else {
                    throw ProviderError.gemini(404, "NOT_FOUND", "No such upload session.")
                }
                if let fileID = session.fileID {
                    return .finished(core.file(session.tenant, id: fileID, now: SimulatorCore.now()))
                }
                guard !session.busy else {
                    throw ProviderError.gemini(409, "ABORTED", "Another request is writing to this upload session.")
                }
                if commands.contains("cancel") {
                    session.cancelled = true
                    sessions[id] = session
                    if let path = session.path { unlink(path) }
                    return .finished(nil)
                }
                let claimed = session
                session.busy = true
                session.buffer = nil
                sessions[id] = session
                return .ready(claimed)
            }
        }
        let session: GeminiSession
        switch claim {
        case .finished(let record):
            await drain(request)
            if commands.contains("cancel") { return Response(status: .ok, headers: [.contentLength: "0"], body: ResponseBody()) }
            guard let record else { throw ProviderError.geminiGone("upload \(id)") }
            return geminiFinal(record, request)
        case .ready(let claimed):
            session = claimed
        }

        if commands == ["query"] {
            await drain(request)
            geminiRelease(session, persisted: session.persisted, buffer: session.buffer)
            return geminiActive(session.persisted)
        }
        guard commands.contains("upload") else {
            await drain(request)
            geminiRelease(session, persisted: session.persisted, buffer: session.buffer)
            throw ProviderError.gemini(
                400, "INVALID_ARGUMENT", "X-Goog-Upload-Command must be upload, upload, finalize, query or cancel.")
        }
        guard let raw = request.headers[Self.geminiUploadOffset], let offset = Int64(raw), offset == session.persisted
        else {
            await drain(request)
            geminiRelease(session, persisted: session.persisted, buffer: session.buffer)
            throw ProviderError.gemini(
                400, "INVALID_ARGUMENT",
                "X-Goog-Upload-Offset must be \(session.persisted), the number of bytes the session holds.")
        }
        let limit = min(core.configuration.maxUploadBytes, Self.geminiMaxFileBytes, session.declaredTotal ?? .max)
        let start = session.persisted
        let writer: SessionWriter
        do {
            writer = try SessionWriter(path: session.path, buffer: session.buffer, offset: start, skip: 0)
        } catch {
            await drain(request)
            geminiRelease(session, persisted: start, buffer: session.buffer)
            throw error
        }
        var tooLarge = false
        do {
            for try await chunk in request.body {
                if tooLarge { continue }
                if start + writer.written + Int64(chunk.readableBytes) > limit {
                    tooLarge = true
                    continue
                }
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
            }
        } catch {
            // The connection broke: the session keeps what arrived.
            let kept = start + writer.written
            geminiRelease(session, persisted: kept, buffer: writer.finish(truncatingTo: kept))
            core.countBytes(uploaded: kept - start)
            throw error
        }
        if tooLarge {
            geminiRelease(session, persisted: start, buffer: writer.finish(truncatingTo: start))
            throw ProviderError.gemini(400, "INVALID_ARGUMENT", "The upload is larger than announced or allowed.")
        }
        let end = start + writer.written
        core.countBytes(uploaded: end - start)
        guard commands.contains("finalize") else {
            geminiRelease(session, persisted: end, buffer: writer.finish(truncatingTo: end))
            return geminiActive(end)
        }
        if let declared = session.declaredTotal, declared != end {
            geminiRelease(session, persisted: end, buffer: writer.finish(truncatingTo: end))
            throw ProviderError.gemini(
                400, "INVALID_ARGUMENT", "The upload has \(end) bytes but the start announced \(declared).")
        }
        guard end > 0 else {
            geminiRelease(session, persisted: end, buffer: writer.finish(truncatingTo: end))
            throw ProviderError.gemini(400, "INVALID_ARGUMENT", "The file is empty.")
        }
        let buffer = writer.finish(truncatingTo: end)
        let content: StoredContent
        if let path = session.path {
            content = .disk(path)
        } else {
            content = .memory(buffer ?? ByteBuffer())
        }
        let fileID = core.reserveFileID(flavor: .gemini)
        let record: FileRecord
        do {
            record = try core.commitFile(
                tenant: session.tenant, id: fileID, filename: session.displayName, purpose: "", content: content,
                size: end, sha256: nil, expiresAfterSeconds: core.geminiLifetimeSeconds, mimeType: session.mimeType)
        } catch {
            core.geminiSessions.withLockedValue { $0[id]?.cancelled = true }
            throw error
        }
        core.geminiSessions.withLockedValue { sessions in
            sessions[id]?.fileID = record.id
            sessions[id]?.busy = false
            sessions[id]?.path = nil
            sessions[id]?.buffer = nil
            sessions[id]?.persisted = end
        }
        // The bytes were counted as they arrived: draw accept-then-fail without counting them again.
        if core.draw(core.currentPlan().acceptThenFailRate) {
            core.countAcceptThenFail()
            return ProviderError.internalError.response(.gemini)
        }
        return geminiFinal(record, request)
    }

    /// Hands a claimed session back with what it now holds.
    private func geminiRelease(_ session: GeminiSession, persisted: Int64, buffer: ByteBuffer?) {
        core.geminiSessions.withLockedValue { sessions in
            guard var current = sessions[session.id] else { return }
            current.busy = false
            current.persisted = persisted
            current.buffer = buffer
            sessions[session.id] = current
        }
    }

    private func geminiActive(_ persisted: Int64) -> Response {
        var response = Response(status: .ok, headers: [.contentLength: "0"], body: ResponseBody())
        response.headers[Self.geminiUploadStatus] = "active"
        response.headers[Self.geminiSizeReceived] = String(persisted)
        return response
    }

    private func geminiFinal(_ record: FileRecord, _ request: Request) -> Response {
        var headers: HTTPFields = [:]
        headers[Self.geminiUploadStatus] = "final"
        return jsonResponse(.object([("file", geminiFile(record, request))]), headers: headers)
    }
}

extension Simulator {
    /// `http://127.0.0.1:PORT/gemini`: the Gemini API base URL (clients append `/v1beta/files` and
    /// `/upload/v1beta/files`).
    public var geminiBaseURL: String {
        let host = core.configuration.host
        let shown = host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : (host.contains(":") ? "[\(host)]" : host)
        return "http://\(shown):\(port)/gemini"
    }

    /// Marks a Gemini file `FAILED` with `message` as its `error.message` (it reports so once its processing
    /// delay is over). Returns false when the key holds no such file (`id` without `files/`).
    @discardableResult
    public func failGeminiFile(apiKey: String, id: String, message: String) -> Bool {
        let tenant = TenantID(flavor: .gemini, apiKey: apiKey)
        let bare = id.hasPrefix("files/") ? String(id.dropFirst(6)) : id
        return core.state.withLockedValue { state in
            guard state.tenants[tenant]?.files[bare] != nil else { return false }
            state.tenants[tenant]?.files[bare]?.failure = message
            return true
        }
    }
}
