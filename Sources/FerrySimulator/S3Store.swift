import Crypto
import Foundation
import NIOConcurrencyHelpers

/// One object of the S3 flavor.
struct S3ObjectRecord: Sendable {
    var key: String
    var bytes: [UInt8]
    /// Quoted, as S3 sends it: `"<md5 hex>"`, or `"<md5 of part md5s>-N"` for a multipart object.
    var etag: String
    /// Unix seconds with fractions.
    var lastModified: Double
    var contentType: String
    /// User metadata, keys without `x-amz-meta-` (lower case), values as sent.
    var metadata: [String: String]
}

/// A multipart upload in progress.
struct S3MultipartUpload: Sendable {
    var bucket: String
    var key: String
    var contentType: String
    var metadata: [String: String]
    /// Part number → (quoted ETag, bytes).
    var parts: [Int: (etag: String, bytes: [UInt8])]
}

/// Buckets, objects, multipart uploads and extra credentials of the S3 flavor. Kept in memory only (a storage
/// directory does not persist them).
struct S3State: Sendable {
    var buckets: [String: [String: S3ObjectRecord]] = [:]
    var uploads: [String: S3MultipartUpload] = [:]
    /// Access key id → secret access key, besides `SimulatorConfiguration.s3Credentials`.
    var credentials: [String: String] = [:]
    var uploadCounter = 0
}

/// An object the S3 flavor holds, as tests see it.
public struct SimulatedS3Object: Sendable, Hashable {
    public var key: String
    public var bytes: Int64
    /// SHA-256 (hex) of the content.
    public var sha256: String
    /// Unix seconds.
    public var lastModified: Int64
    public var etag: String
    /// User metadata (`x-amz-meta-*` without the prefix).
    public var metadata: [String: String]
}

extension SimulatorCore {
    /// The secret of an access key id, or nil for an unknown one.
    func s3Secret(_ accessKeyID: String) -> String? {
        s3.withLockedValue { $0.credentials[accessKeyID] } ?? configuration.s3Credentials[accessKeyID]
    }

    static func s3ETag(_ bytes: [UInt8]) -> String {
        "\"" + Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined() + "\""
    }
}

extension Simulator {
    /// `http://127.0.0.1:PORT/s3`: the S3 endpoint (path-style: clients append `/{bucket}/{key}`). The prefix keeps
    /// S3's paths apart from the other flavors' on the same port.
    public var s3Endpoint: String { "http://\(urlHost):\(port)/s3" }

    /// Creates a bucket (as `PUT /s3/{bucket}` does); nothing happens when it exists.
    public func createS3Bucket(_ name: String) {
        core.s3.withLockedValue { state in
            if state.buckets[name] == nil { state.buckets[name] = [:] }
        }
    }

    /// Accepts requests signed with this key pair from now on (besides `SimulatorConfiguration.s3Credentials`).
    public func addS3Credential(accessKeyID: String, secretAccessKey: String) {
        core.s3.withLockedValue { $0.credentials[accessKeyID] = secretAccessKey }
    }

    /// A bucket's objects in key order (UTF-8 bytes); empty when the bucket does not exist.
    public func s3Objects(bucket: String) -> [SimulatedS3Object] {
        let records = core.s3.withLockedValue { Array(($0.buckets[bucket] ?? [:]).values) }
        return records.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { record in
            SimulatedS3Object(
                key: record.key, bytes: Int64(record.bytes.count),
                sha256: SHA256.hash(data: record.bytes).map { String(format: "%02x", $0) }.joined(),
                lastModified: Int64(record.lastModified), etag: record.etag, metadata: record.metadata)
        }
    }

    /// An object's bytes, or nil.
    public func s3ObjectContent(bucket: String, key: String) -> [UInt8]? {
        core.s3.withLockedValue { $0.buckets[bucket]?[key]?.bytes }
    }

    /// Stores an object directly (creating the bucket when missing), as someone else's upload would.
    /// `lastModified` (Unix seconds) defaults to now.
    @discardableResult
    public func seedS3Object(
        bucket: String, key: String, data: [UInt8], lastModified: Int64? = nil, metadata: [String: String] = [:]
    ) -> SimulatedS3Object {
        let record = S3ObjectRecord(
            key: key, bytes: data, etag: SimulatorCore.s3ETag(data),
            lastModified: lastModified.map(Double.init) ?? SimulatorCore.now(), contentType: "application/octet-stream",
            metadata: metadata)
        core.s3.withLockedValue { $0.buckets[bucket, default: [:]][key] = record }
        return s3Objects(bucket: bucket).first { $0.key == key }!
    }

    /// Removes an object (out of band).
    public func removeS3Object(bucket: String, key: String) {
        _ = core.s3.withLockedValue { $0.buckets[bucket]?.removeValue(forKey: key) }
    }

    /// Multipart uploads started and neither completed nor aborted, in a bucket.
    public func s3PendingMultipartUploads(bucket: String) -> Int {
        core.s3.withLockedValue { state in state.uploads.values.filter { $0.bucket == bucket }.count }
    }
}
