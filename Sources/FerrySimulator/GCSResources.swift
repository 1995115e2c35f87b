import Foundation
import Hummingbird

/// The JSON resources of Cloud Storage answers: `storage#object` and `storage#bucket`.
extension SimulatorRoutes {
    func objectResource(_ record: GCSObjectRecord, _ request: Request) -> JSON {
        let base = origin(request)
        let bucket = GCSName.encode(record.bucket)
        let name = GCSName.encode(record.name)
        let created = GCSTime.rfc3339(record.created)
        let etag = Data("\(record.generation)/\(record.metageneration)".utf8).base64EncodedString()
        var pairs: [(String, JSON)] = [
            ("kind", .string("storage#object")),
            ("id", .string("\(record.bucket)/\(record.name)/\(record.generation)")),
            ("selfLink", .string("\(base)/storage/v1/b/\(bucket)/o/\(name)")),
            ("mediaLink", .string("\(base)/download/storage/v1/b/\(bucket)/o/\(name)?generation=\(record.generation)&alt=media")),
            ("name", .string(record.name)),
            ("bucket", .string(record.bucket)),
            ("generation", .string(String(record.generation))),
            ("metageneration", .string(String(record.metageneration))),
            ("contentType", .string(record.contentType)),
            ("storageClass", .string("STANDARD")),
            ("size", .string(String(record.size))),
            ("md5Hash", .string(record.md5Hash)),
            ("crc32c", .string(record.crc32c)),
            ("etag", .string(etag)),
            ("timeCreated", .string(created)),
            ("updated", .string(created)),
            ("timeStorageClassUpdated", .string(created)),
        ]
        if let metadata = record.metadata, !metadata.isEmpty {
            pairs.append(("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return .object(pairs)
    }

    func bucketResource(_ name: String, _ bucket: GCSBucketState, _ request: Request) -> JSON {
        let created = GCSTime.rfc3339(bucket.created)
        return .object([
            ("kind", .string("storage#bucket")),
            ("selfLink", .string("\(origin(request))/storage/v1/b/\(GCSName.encode(name))")),
            ("id", .string(name)),
            ("name", .string(name)),
            ("projectNumber", .string("0")),
            ("metageneration", .string(String(bucket.metageneration))),
            ("location", .string("US")),
            ("storageClass", .string("STANDARD")),
            ("etag", .string("CAE=")),
            ("timeCreated", .string(created)),
            ("updated", .string(created)),
            ("locationType", .string("multi-region")),
        ])
    }
}
