import Foundation
import Hummingbird

/// The JSON resources of Cloud Storage answers: `storage#object` and `storage#bucket`.
extension SimulatorRoutes {
    /// - Parameter selection: a partial response's selection of the resource's keys: only those are built (a listing
    ///   page builds 1,000 resources).
    func objectResource(_ record: GCSObjectRecord, _ request: Request, selection: GCSFieldSelection? = nil) -> JSON {
        let all = selection == nil || selection?.fields["*"] != nil
        func wants(_ key: String) -> Bool { all || selection?.fields[key] != nil }
        let base = origin(request)
        var pairs: [(String, JSON)] = []
        if wants("kind") { pairs.append(("kind", .string("storage#object"))) }
        if wants("id") { pairs.append(("id", .string("\(record.bucket)/\(record.name)/\(record.generation)"))) }
        if wants("selfLink") || wants("mediaLink") {
            let bucket = GCSName.encode(record.bucket)
            let name = GCSName.encode(record.name)
            if wants("selfLink") { pairs.append(("selfLink", .string("\(base)/storage/v1/b/\(bucket)/o/\(name)"))) }
            if wants("mediaLink") {
                pairs.append(
                    ("mediaLink",
                        .string(
                            "\(base)/download/storage/v1/b/\(bucket)/o/\(name)?generation=\(record.generation)&alt=media")))
            }
        }
        if wants("name") { pairs.append(("name", .string(record.name))) }
        if wants("bucket") { pairs.append(("bucket", .string(record.bucket))) }
        if wants("generation") { pairs.append(("generation", .string(String(record.generation)))) }
        if wants("metageneration") { pairs.append(("metageneration", .string(String(record.metageneration)))) }
        if wants("contentType") { pairs.append(("contentType", .string(record.contentType))) }
        if wants("storageClass") { pairs.append(("storageClass", .string("STANDARD"))) }
        if wants("size") { pairs.append(("size", .string(String(record.size)))) }
        if wants("md5Hash") { pairs.append(("md5Hash", .string(record.md5Hash))) }
        if wants("crc32c") { pairs.append(("crc32c", .string(record.crc32c))) }
        if wants("etag") {
            let etag = Data("\(record.generation)/\(record.metageneration)".utf8).base64EncodedString()
            pairs.append(("etag", .string(etag)))
        }
        let times = ["timeCreated", "updated", "timeStorageClassUpdated"].filter(wants)
        if !times.isEmpty {
            let created = GCSTime.rfc3339(record.created)
            for key in times { pairs.append((key, .string(created))) }
        }
        if wants("metadata"), let metadata = record.metadata, !metadata.isEmpty {
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
