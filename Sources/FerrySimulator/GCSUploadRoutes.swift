import Foundation
import Hummingbird

/// Cloud Storage object uploads (`POST /upload/storage/v1/b/{bucket}/o`): `uploadType=media`, `multipart`, and the
/// start of a `resumable` session (its chunks: `GCSResumableUploads.swift`).
extension SimulatorRoutes {
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
        let failure: (any Error)?
        do {
            failure = try await parser.parse(request.body, into: &sink) { sink, _ in !sink.tooLarge }
        } catch {
            sink.media?.discard()
            throw error
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
