import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore

/// Large files through OpenAI's Uploads API: start an upload, send parts of at most 64 MB streamed from disk
/// (several at once), complete it with the part ids in order. Only the completion can create a file, so only
/// its failure can be ambiguous; a failure before it cancels the upload (which would expire anyway).
extension OpenAIFilesClient {
    func createInParts(_ upload: UploadRequest) async throws -> RemoteFile {
        let uploadsURL = endpoint.baseURL + "/uploads"
        let start = OpenAIUploadStart(
            filename: upload.filename, purpose: upload.purpose, bytes: upload.bytes,
            mimeType: MediaType.guess(filename: upload.filename),
            expiresAfter: upload.expiresAfterSeconds.map { OpenAIExpiresAfter(seconds: $0) }
        )
        // Checked before anything is sent; every part checks again.
        do {
            try await transport.withSource(upload, range: 0..<0) { _ in }
        } catch {
            throw transport.classify(error, .create, progress: nil)
        }
        let session = try await transport.withRetries(.uploadStart) {
            let response = try await send(try jsonRequest(url(uploadsURL), start), .uploadStart)
            return try await transport.decode(OpenAIUploadObject.self, from: response, .uploadStart)
        }
        let sessionURL = uploadsURL + "/" + session.id.percentEncodedComponent
        let partIDs: [String]
        do {
            partIDs = try await uploadParts(upload, to: sessionURL)
        } catch {
            await cancelUpload(at: sessionURL)
            throw error
        }
        let completion = OpenAIUploadCompletion(partIDs: partIDs)
        let finished = try await transport.withRetries(.uploadComplete) {
            let request = try jsonRequest(url(sessionURL + "/complete"), completion)
            let response = try await send(request, .uploadComplete)
            return try await transport.decode(OpenAIUploadObject.self, from: response, .uploadComplete)
        }
        guard finished.status == "completed", let file = finished.file else {
            throw transport.malformed(
                .uploadComplete, "upload \(session.id) answered status \(finished.status ?? "none") without a file"
            )
        }
        return file.remoteFile(fallback: upload)
    }

    /// The byte ranges of the parts, in file order.
    static func partRanges(bytes: Int64, partBytes: Int64) -> [Range<Int64>] {
        stride(from: Int64(0), to: bytes, by: Int(partBytes)).map { $0..<min($0 + partBytes, bytes) }
    }

    /// Sends every part, `uploadPartConcurrency` at a time; returns their ids in file order.
    private func uploadParts(_ upload: UploadRequest, to sessionURL: String) async throws -> [String] {
        let ranges = Self.partRanges(bytes: upload.bytes, partBytes: transport.configuration.uploadPartBytes)
        let width = min(transport.configuration.uploadPartConcurrency, ranges.count)
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var ids = [String](repeating: "", count: ranges.count)
            var next = 0
            while next < width {
                let index = next
                group.addTask { (index, try await uploadPart(upload, ranges[index], to: sessionURL)) }
                next += 1
            }
            while let (index, id) = try await group.next() {
                ids[index] = id
                if next < ranges.count {
                    let index = next
                    group.addTask { (index, try await uploadPart(upload, ranges[index], to: sessionURL)) }
                    next += 1
                }
            }
            return ids
        }
    }

    private func uploadPart(_ upload: UploadRequest, _ range: Range<Int64>, to sessionURL: String) async throws
        -> String
    {
        let form = MultipartForm(fields: [], fileField: "data", filename: upload.filename)
        let partBytes = range.upperBound - range.lowerBound
        let length = form.contentLength(fileBytes: partBytes)
        let timeout = transport.configuration.uploadTimeout(forBytes: length)
        let url = self.url(sessionURL + "/parts")
        return try await transport.withRetries(.uploadPart) {
            try await transport.withSource(upload, range: range) { chunks in
                var request = makeRequest(url)
                request.method = .POST
                request.headers.replaceOrAdd(name: "Content-Type", value: form.contentType)
                let progress = BodyProgress()
                let body = FileBody(
                    form: form, chunks: chunks, fileBytes: partBytes, progress: progress,
                    transfer: upload.progress?.begin(range), hashing: upload.hasher?.begin(range),
                    sourceChanged: { read in
                        transport.sourceChanged(
                            upload, detail: "the part at \(range.lowerBound) ended after \(read) bytes")
                    }
                )
                request.body = .stream(body, length: .known(length))
                let response = try await transport.send(request, .uploadPart, timeout: timeout, progress: progress)
                return try await transport.decode(OpenAIUploadPart.self, from: response, .uploadPart).id
            }
        }
    }

    /// Best effort: an upload left pending expires an hour after it was created anyway.
    private func cancelUpload(at sessionURL: String) async {
        let url = self.url(sessionURL + "/cancel")
        _ = try? await transport.withRetries(.uploadCancel) {
            var request = makeRequest(url)
            request.method = .POST
            let response = try await send(request, .uploadCancel)
            _ = try await transport.collect(response, .uploadCancel)
        }
    }

    private func jsonRequest(_ url: String, _ body: some Encodable) throws -> HTTPClientRequest {
        var request = makeRequest(url)
        request.method = .POST
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        return request
    }
}
