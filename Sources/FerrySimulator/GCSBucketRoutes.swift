import Foundation
import Hummingbird

/// Cloud Storage buckets: insert and get.
extension SimulatorRoutes {
    struct BucketInsertBody: Decodable {
        var name: String?
    }

    func insertBucket(_ request: Request) async throws -> Response {
        let body = try await readGCSJSON(BucketInsertBody.self, request)
        guard let name = body.name, !name.isEmpty else { throw GCSError.required("resource.name") }
        try checkBucketName(name)
        guard try core.createGCSBucket(name), let bucket = core.gcsBucket(name) else {
            throw GCSError(
                status: 409,
                message: "Your previous request to create the named bucket succeeded and you already own it.",
                reason: "conflict")
        }
        return jsonResponse(bucketResource(name, bucket, request))
    }

    func getBucket(_ name: String, _ request: Request) throws -> Response {
        try checkBucketName(name)
        guard let bucket = core.gcsBucket(name) else { throw GCSError.noSuchBucket }
        return jsonResponse(bucketResource(name, bucket, request))
    }
}
