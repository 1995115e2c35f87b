import Foundation
import Hummingbird

extension HeaderName {
    static let uploadContentLength = HeaderName("X-Upload-Content-Length")!
    static let uploadContentType = HeaderName("X-Upload-Content-Type")!
    static let guploaderUploadID = HeaderName("X-GUploader-UploadID")!
    static let guploaderNo308 = HeaderName("X-GUploader-No-308")!
    static let statusCodeOverride = HeaderName("X-HTTP-Status-Code-Override")!
    static let googGeneration = HeaderName("x-goog-generation")!
    static let googMetageneration = HeaderName("x-goog-metageneration")!
    static let googHash = HeaderName("x-goog-hash")!
    static let googStoredContentLength = HeaderName("x-goog-stored-content-length")!
}

/// Google Cloud Storage JSON API (the Vertex AI files flavor): the route table and the path helpers. Handlers live in
/// `GCSObjectRoutes.swift`, `GCSBucketRoutes.swift`, `GCSUploadRoutes.swift`, `GCSResumableUploads.swift` and
/// `GCSToken.swift`; the credential check in `GCSAuth.swift`.
extension SimulatorRoutes {
    static let gcsUploadRoute = "POST /upload/storage/v1/b/{bucket}/o"

    func addGCSRoutes(_ router: Router<SimRequestContext>) {
        router.post("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            if query.nonEmpty("upload_id") != nil {
                // Some clients (Go) send resumable chunks with POST.
                return await self.gcs("gcs.resumable", Self.gcsUploadRoute, request, context, access: .none) {
                    try await self.resumableChunk(bucket, query, request)
                }
            }
            return await self.gcs("gcs.upload", Self.gcsUploadRoute, request, context, access: .write) {
                try await self.insertObject(bucket, query, request)
            }
        }
        router.put("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.resumable", "PUT /upload/storage/v1/b/{bucket}/o", request, context, access: .none
            ) {
                try await self.resumableChunk(bucket, query, request)
            }
        }
        router.delete("/upload/storage/v1/b/:bucket/o") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.resumable", "DELETE /upload/storage/v1/b/{bucket}/o", request, context, access: .none
            ) {
                await self.drain(request)
                return try self.cancelSession(bucket, query)
            }
        }
        router.get("/storage/v1/b/:bucket/o") { request, context in
            let bucket = self.bucketParameter(context)
            return await self.gcs("gcs.list", "GET /storage/v1/b/{bucket}/o", request, context, access: .read) {
                try self.listObjects(bucket, GCSQuery(request.uri.query), request)
            }
        }
        router.get("/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            if query["alt"] == "media" {
                return await self.gcs(
                    "gcs.download", "GET /storage/v1/b/{bucket}/o/{object}?alt=media", request, context, access: .read
                ) {
                    try self.getObject(bucket, try self.objectName(request, segments: 6), query, request, media: true)
                }
            }
            return await self.gcs("gcs.get", "GET /storage/v1/b/{bucket}/o/{object}", request, context, access: .read) {
                try self.getObject(bucket, try self.objectName(request, segments: 6), query, request, media: false)
            }
        }
        router.get("/download/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.download", "GET /download/storage/v1/b/{bucket}/o/{object}", request, context, access: .read
            ) {
                try self.getObject(bucket, try self.objectName(request, segments: 7), query, request, media: true)
            }
        }
        router.delete("/storage/v1/b/:bucket/o/**") { request, context in
            let query = GCSQuery(request.uri.query)
            let bucket = self.bucketParameter(context)
            return await self.gcs(
                "gcs.delete", "DELETE /storage/v1/b/{bucket}/o/{object}", request, context, access: .write
            ) {
                try self.deleteObject(bucket, try self.objectName(request, segments: 6), query)
            }
        }
        router.post("/storage/v1/b") { request, context in
            await self.gcs("gcs.bucket", "POST /storage/v1/b", request, context, access: .write) {
                try await self.insertBucket(request)
            }
        }
        router.get("/storage/v1/b/:bucket") { request, context in
            let bucket = self.bucketParameter(context)
            return await self.gcs("gcs.bucket", "GET /storage/v1/b/{bucket}", request, context, access: .read) {
                try self.getBucket(bucket, request)
            }
        }
        router.post("/token") { request, context in
            await self.gcs("token", "POST /token", request, context, access: .none, oauth: true) {
                try await self.issueToken(request)
            }
        }
    }

    // MARK: Paths

    func bucketParameter(_ context: SimRequestContext) -> String {
        let raw = context.parameters.get("bucket") ?? ""
        return GCSName.decode(raw.utf8, plusIsSpace: false) ?? raw
    }

    func checkBucketName(_ bucket: String) throws {
        guard GCSName.isValidBucket(bucket) else { throw GCSError.invalidBucketName(bucket) }
    }

    /// The object name: everything after the path's `segments`-th slash, percent-decoded (`%2F` and `/`
    /// both stand for a slash; `+` is a plus).
    func objectName(_ request: Request, segments: Int) throws -> String {
        let path = request.uri.path.utf8
        var slashes = 0
        var index = path.startIndex
        while index < path.endIndex {
            if path[index] == UInt8(ascii: "/") {
                slashes += 1
                if slashes == segments {
                    index = path.index(after: index)
                    break
                }
            }
            index = path.index(after: index)
        }
        guard slashes == segments, let name = GCSName.decode(path[index...], plusIsSpace: false) else {
            throw GCSError.invalid("The object name in the path is not valid percent-encoded UTF-8.")
        }
        if let problem = GCSName.validationError(name) { throw GCSError.invalid(problem) }
        return name
    }

    /// `http://host:port` as the client addressed this server (for links and session URIs).
    func origin(_ request: Request) -> String {
        "http://\(request.head.authority ?? "127.0.0.1")"
    }
}
