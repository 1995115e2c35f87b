import Foundation
import Hummingbird

/// Cloud Storage resumable uploads: start a session, send chunks with `Content-Range`, query its status,
/// cancel it.
///
/// Non-final chunks are kept in whole multiples of 256 KiB, as Cloud Storage does: the rest of a chunk is
/// dropped and the `308` answer's `Range` says how much was kept, so clients must resume from the `Range`.
extension SimulatorRoutes {
    static let chunkGranularity: Int64 = 256 * 1024

    /// What a `Content-Range` asks for.
    enum ChunkRange: Equatable {
        /// `bytes */TOTAL` or `bytes */*`: how much do you have? (and finish if TOTAL is all there).
        case status(total: Int64?)
        /// `bytes FIRST-LAST/TOTAL` or `bytes FIRST-LAST/*`.
        case data(first: Int64, last: Int64, total: Int64?)
        /// No `Content-Range`: the body is the whole object.
        case whole
    }

    static func parseContentRange(_ header: String?) -> ChunkRange? {
        guard let header else { return .whole }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("bytes ") else { return nil }
        let spec = text.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let halves = spec.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        var total: Int64?
        if halves[1] != "*" {
            guard let value = Int64(halves[1]), value >= 0 else { return nil }
            total = value
        }
        if halves[0] == "*" { return .status(total: total) }
        let bounds = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first >= 0, first <= last
        else { return nil }
        if let total, last >= total { return nil }
        return .data(first: first, last: last, total: total)
    }

    // MARK: Start

    func startResumable(
        _ bucket: String, _ query: GCSQuery, _ preconditions: GCSPreconditions, _ request: Request
    ) async throws -> Response {
        let limit = core.configuration.maxUploadBytes
        var declared: Int64?
        if let raw = request.headers[.uploadContentLength] {
            guard let value = Int64(raw.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                await drain(request)
                throw GCSError.invalid("Invalid X-Upload-Content-Length: '\(raw)'.")
            }
            guard value <= limit else {
                await drain(request)
                throw GCSError.tooLarge(limit)
            }
            declared = value
        }
        let metadata = try decodeObjectMetadata(try await readSmallBody(request, limit: 64 * 1024))
        let name = try resolveName(query, metadata)
        // Checked now and again when the upload completes.
        try preconditions.check(try? core.gcsObject(bucket: bucket, name: name))
        let contentType =
            metadata.contentType ?? request.headers[.uploadContentType].flatMap { $0.isEmpty ? nil : $0 }
            ?? "application/octet-stream"
        let path = core.newTempPath()
        if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw SimIOError("cannot create", path: path) }
            close(fd)
        }
        let session = GCSSession(
            id: core.newGCSUploadID(), bucket: bucket, name: name, contentType: contentType,
            metadata: metadata.metadata, declaredTotal: declared, preconditions: preconditions, path: path,
            buffer: path == nil ? ByteBuffer() : nil)
        core.gcs.withLockedValue { $0.sessions[session.id] = session }
        let location =
            "\(origin(request))/upload/storage/v1/b/\(GCSName.encode(bucket))/o?uploadType=resumable"
            + "&name=\(GCSName.encode(name))&upload_id=\(session.id)"
        return Response(
            status: .ok,
            headers: [.location: location, .guploaderUploadID: session.id, .contentLength: "0"],
            body: ResponseBody())
    }

    // MARK: Chunks and status

    private enum Claim {
        case ready(GCSSession)
        case answer(Response)
        case failure(GCSError)
    }

    func resumableChunk(_ bucket: String, _ query: GCSQuery, _ request: Request) async throws -> Response {
        let limit = core.configuration.maxUploadBytes
        let (id, range) = try await beforeBody(request) { () throws -> (String, ChunkRange) in
            guard let id = query.nonEmpty("upload_id") else { throw GCSError.required("upload_id") }
            guard let range = Self.parseContentRange(request.headers[.contentRange]) else {
                throw GCSError.invalid("Failed to parse Content-Range header: '\(request.headers[.contentRange] ?? "")'.")
            }
            return (id, range)
        }
        let claim = core.gcs.withLockedValue { state -> Claim in
            guard var session = state.sessions[id], session.bucket == bucket else { return .failure(.noSuchUpload) }
            switch session.state {
            case .complete(let record): return .answer(jsonResponse(objectResource(record, request)))
            case .cancelled: return .failure(.uploadCancelled)
            case .failed(let error): return .failure(error)
            case .busy: return .failure(.sessionBusy)
            case .active:
                let claimed = session
                session.state = .busy
                session.buffer = nil  // the claimer holds it while busy
                state.sessions[id] = session
                return .ready(claimed)
            }
        }
        let session: GCSSession
        switch claim {
        case .answer(let response):
            await drain(request)
            return response
        case .failure(let error):
            await drain(request)
            throw error
        case .ready(let claimed):
            session = claimed
        }

        // Totals must agree with what was declared, and fit.
        var total: Int64?
        switch range {
        case .status(let t): total = t
        case .data(_, _, let t): total = t
        case .whole: total = nil
        }
        if let total {
            var problem: GCSError?
            if let declared = session.declaredTotal, declared != total {
                problem = .invalid(
                    "The total size in Content-Range (\(total)) does not match X-Upload-Content-Length (\(declared)).")
            } else if total > limit {
                problem = .tooLarge(limit)
            } else if total < session.persisted {
                problem = .invalid(
                    "The total size in Content-Range (\(total)) is smaller than the \(session.persisted) bytes already stored.")
            }
            if let problem {
                await drain(request)
                release(session, persisted: session.persisted, buffer: session.buffer)
                throw problem
            }
        }

        switch range {
        case .status(let total):
            var bodyBytes = 0
            do {
                for try await chunk in request.body { bodyBytes += chunk.readableBytes }
            } catch {
                release(session, persisted: session.persisted, buffer: session.buffer)
                throw error
            }
            guard bodyBytes == 0 else {
                release(session, persisted: session.persisted, buffer: session.buffer)
                throw GCSError.invalid("A status query (Content-Range: bytes */…) must have an empty body.")
            }
            if let total, total == session.persisted {
                return try finish(session, buffer: session.buffer, request)
            }
            release(session, persisted: session.persisted, buffer: session.buffer)
            return incomplete(session.persisted, request)
        case .data(let first, let last, let total):
            if first > session.persisted || last < session.persisted {
                // A gap, or only bytes already stored: keep nothing, say where to continue.
                await drain(request)
                if let total, total == session.persisted {
                    return try finish(session, buffer: session.buffer, request)
                }
                release(session, persisted: session.persisted, buffer: session.buffer)
                return incomplete(session.persisted, request)
            }
            return try await receive(session, request, first: first, expected: last - first + 1, total: total)
        case .whole:
            return try await receive(session, request, first: 0, expected: nil, total: nil)
        }
    }

    /// Streams a chunk into the session (skipping bytes it already has), then answers 308 or finishes.
    private func receive(
        _ session: GCSSession, _ request: Request, first: Int64, expected: Int64?, total: Int64?
    ) async throws -> Response {
        let limit = core.configuration.maxUploadBytes
        let start = session.persisted
        let writer: SessionWriter
        do {
            writer = try SessionWriter(path: session.path, buffer: session.buffer, offset: start, skip: start - first)
        } catch {
            await drain(request)
            release(session, persisted: start, buffer: session.buffer)
            throw error
        }
        var tooLarge = false
        do {
            for try await chunk in request.body {
                if tooLarge { continue }
                if start + writer.written + max(0, Int64(chunk.readableBytes) - writer.pendingSkip) > limit {
                    tooLarge = true
                    continue
                }
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
            }
        } catch {
            // The connection broke: keep what arrived, in whole multiples of 256 KiB.
            let kept = Self.aligned(start + writer.written, floor: start)
            let buffer = writer.finish(truncatingTo: kept)
            release(session, persisted: kept, buffer: buffer)
            core.countBytes(uploaded: kept - start)
            throw error
        }
        if tooLarge {
            release(session, persisted: start, buffer: writer.finish(truncatingTo: start))
            throw GCSError.tooLarge(limit)
        }
        let received = writer.received
        if let expected, received != expected {
            release(session, persisted: start, buffer: writer.finish(truncatingTo: start))
            throw GCSError.invalid(
                "The Content-Range announces \(expected) bytes but the request body has \(received).")
        }
        if expected == nil, let declared = session.declaredTotal, received != declared {
            release(session, persisted: start, buffer: writer.finish(truncatingTo: start))
            throw GCSError.invalid(
                "The request body has \(received) bytes but X-Upload-Content-Length announced \(declared).")
        }
        let end = first + received
        if let keep = core.takeChunkTruncation() {
            // FaultPlan.truncateNextChunks: keep the first bytes only, as if the connection had broken there.
            let kept = Self.aligned(min(end, first + keep), floor: start)
            release(session, persisted: kept, buffer: writer.finish(truncatingTo: kept))
            core.countBytes(uploaded: kept - start)
            core.countInjectedError(503)
            throw GCSError.injected(status: 503, retryAfter: core.currentPlan().retryAfterSeconds)
        }
        let isFinal = expected == nil || total == end
        if isFinal {
            guard end >= start else {
                release(session, persisted: start, buffer: writer.finish(truncatingTo: start))
                throw GCSError.invalid("The request body ends before the \(start) bytes already stored.")
            }
            let buffer = writer.finish(truncatingTo: end)
            core.countBytes(uploaded: end - start)
            var done = session
            done.persisted = end
            return try finish(done, buffer: buffer, request)
        }
        let kept = Self.aligned(end, floor: start)
        release(session, persisted: kept, buffer: writer.finish(truncatingTo: kept))
        core.countBytes(uploaded: kept - start)
        return incomplete(kept, request)
    }

    /// Rounds down to a multiple of 256 KiB, never below `floor` (what was already kept).
    static func aligned(_ length: Int64, floor: Int64) -> Int64 {
        max(floor, length - length % chunkGranularity)
    }

    /// Hands a claimed session back (unless it was cancelled meanwhile, then its bytes go).
    private func release(_ session: GCSSession, persisted: Int64, buffer: ByteBuffer?) {
        let stillBusy = core.gcs.withLockedValue { state -> Bool in
            guard var current = state.sessions[session.id], case .busy = current.state else { return false }
            current.state = .active
            current.persisted = persisted
            current.buffer = buffer
            state.sessions[session.id] = current
            return true
        }
        if !stillBusy, let path = session.path { unlink(path) }
    }

    /// Turns a session whose bytes are all there into an object.
    private func finish(_ session: GCSSession, buffer: ByteBuffer?, _ request: Request) throws -> Response {
        let content: StoredContent
        if let path = session.path {
            content = .disk(path)
        } else {
            content = .memory(buffer ?? ByteBuffer())
        }
        let record: GCSObjectRecord
        do {
            record = try core.commitGCSObject(
                bucket: session.bucket, name: session.name, contentType: session.contentType,
                metadata: session.metadata, content: content, preconditions: session.preconditions)
        } catch {
            // The bytes are gone (commit removes them on failure): the session cannot go on.
            let failure = (error as? GCSError) ?? GCSError.internalError("\(error)")
            core.gcs.withLockedValue { state in
                if case .busy = state.sessions[session.id]?.state { state.sessions[session.id]?.state = .failed(failure) }
            }
            throw failure
        }
        core.gcs.withLockedValue { state in
            guard var current = state.sessions[session.id] else { return }
            current.state = .complete(record)
            current.persisted = record.size
            current.path = nil
            current.buffer = nil
            state.sessions[session.id] = current
        }
        return uploaded(record, request)
    }

    /// `308` with `Range: bytes=0-N` (no `Range` when nothing is kept). With `X-GUploader-No-308: yes`,
    /// `200` with `X-HTTP-Status-Code-Override: 308` instead, as Cloud Storage does for such clients.
    private func incomplete(_ persisted: Int64, _ request: Request) -> Response {
        var headers: HTTPFields = [.contentLength: "0"]
        if persisted > 0 { headers[.range] = "bytes=0-\(persisted - 1)" }
        if request.headers[.guploaderNo308]?.lowercased() == "yes" {
            headers[.statusCodeOverride] = "308"
            return Response(status: .ok, headers: headers, body: ResponseBody())
        }
        return Response(status: HTTPResponse.Status(code: 308), headers: headers, body: ResponseBody())
    }

    // MARK: Cancel

    /// `DELETE` on the session URI: the upload is abandoned and answers `499`; later requests get `410`.
    func cancelSession(_ bucket: String, _ query: GCSQuery) throws -> Response {
        guard let id = query.nonEmpty("upload_id") else { throw GCSError.required("upload_id") }
        let path = try core.gcs.withLockedValue { state -> String? in
            guard var session = state.sessions[id], session.bucket == bucket else { throw GCSError.noSuchUpload }
            switch session.state {
            case .active, .busy, .failed:
                let path = session.path
                session.state = .cancelled
                session.path = nil
                session.buffer = nil
                state.sessions[id] = session
                return path
            case .cancelled, .complete:
                return nil
            }
        }
        if let path { unlink(path) }
        return Response(status: HTTPResponse.Status(code: 499), headers: [.contentLength: "0"], body: ResponseBody())
    }
}

/// Writes a chunk into a session's file (or buffer) at its current end, skipping bytes it already has.
final class SessionWriter {
    private var fd: Int32 = -1
    private let path: String?
    private var buffer: ByteBuffer?
    private(set) var pendingSkip: Int64
    /// Body bytes seen, and bytes actually written.
    private(set) var received: Int64 = 0
    private(set) var written: Int64 = 0
    private let offset: Int64

    init(path: String?, buffer: ByteBuffer?, offset: Int64, skip: Int64) throws {
        self.path = path
        self.offset = offset
        self.pendingSkip = skip
        if let path {
            fd = open(path, O_WRONLY)
            guard fd >= 0 else { throw SimIOError("cannot open", path: path) }
            guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                close(fd)
                throw SimIOError("cannot seek in", path: path)
            }
        } else {
            var buffer = buffer ?? ByteBuffer()
            buffer.moveWriterIndex(to: Int(offset))
            self.buffer = buffer
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    func write(_ raw: UnsafeRawBufferPointer) throws {
        received += Int64(raw.count)
        var bytes = raw
        if pendingSkip > 0 {
            let drop = Int(min(pendingSkip, Int64(bytes.count)))
            pendingSkip -= Int64(drop)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[drop...])
        }
        guard bytes.count > 0 else { return }
        if fd >= 0 {
            var done = 0
            while done < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SimIOError("cannot write", path: path ?? "")
                }
                done += n
            }
        } else {
            buffer?.writeBytes(bytes)
        }
        written += Int64(bytes.count)
    }

    /// Keeps the first `length` bytes of the session and stops writing; returns the buffer in memory mode.
    func finish(truncatingTo length: Int64) -> ByteBuffer? {
        if fd >= 0 {
            _ = ftruncate(fd, off_t(length))
            Foundation.close(fd)
            fd = -1
            return nil
        }
        buffer?.moveWriterIndex(to: Int(length))
        let result = buffer
        buffer = nil
        return result
    }
}
