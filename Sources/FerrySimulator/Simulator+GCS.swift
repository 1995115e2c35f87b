import Foundation
import Hummingbird

/// Cloud Storage (Vertex AI files) inspection and set-up. None of these count as requests or meet faults.
extension Simulator {
    /// `http://127.0.0.1:PORT`: the Cloud Storage base URL, what `STORAGE_EMULATOR_HOST` would hold (clients
    /// append `/storage/v1/…` and `/upload/storage/v1/…`).
    public var gcsBaseURL: String { azureEndpoint }

    /// `http://127.0.0.1:PORT/token`: the OAuth 2.0 token endpoint (a service-account key's `token_uri`; the
    /// JWT's `aud` must be exactly this URL, as the client addressed it).
    public var tokenURL: String { azureEndpoint + "/token" }

    /// A bucket's objects in listing order (UTF-8 byte order of names). Empty when the bucket does not exist.
    /// Each `SimulatedFile` has `id` `gs://bucket/name`, `filename` the object name, `bytes` its size,
    /// `createdAt` its creation second, `sha256` of its content, `purpose` "" and `flavor` `.gcs`.
    public func objects(bucket: String) -> [SimulatedFile] {
        let records = (try? core.gcsObjects(bucket: bucket)) ?? []
        return records.map { core.simulatedFile($0) }
    }

    /// The bytes of an object, or nil when there is none.
    public func objectContent(bucket: String, name: String) -> [UInt8]? {
        guard let record = try? core.gcsObject(bucket: bucket, name: name), let content = core.gcsContent(record)
        else { return nil }
        return ContentReader.readAll(content)
    }

    /// Stores an object as if someone else had uploaded it (replacing any object of that name); creates the
    /// bucket when missing. `createdAt` (Unix seconds) defaults to now; a past value also makes the object
    /// visible despite `listLagSeconds`.
    @discardableResult
    public func seedObject(
        bucket: String, name: String, data: [UInt8], contentType: String = "application/octet-stream",
        createdAt: Int64? = nil
    ) -> SimulatedFile {
        precondition(GCSName.isValidBucket(bucket), "Simulator.seedObject: '\(bucket)' is not a valid bucket name")
        precondition(GCSName.validationError(name) == nil, "Simulator.seedObject: '\(name)' is not a valid object name")
        do {
            let record = try core.commitGCSObject(
                bucket: bucket, name: name, contentType: contentType, metadata: nil,
                content: .memory(ByteBuffer(bytes: data)), preconditions: nil, created: createdAt.map(Double.init))
            return core.simulatedFile(record)
        } catch {
            preconditionFailure("Simulator.seedObject could not store \(bucket)/\(name): \(error)")
        }
    }

    /// Deletes an object out of band (as if someone else had). Unknown names are ignored.
    public func removeObject(bucket: String, name: String) {
        try? core.deleteGCSObject(bucket: bucket, name: name, generation: nil, preconditions: nil)
    }

    /// Names of the buckets that exist, sorted.
    public func buckets() -> [String] {
        core.gcs.withLockedValue { Array($0.buckets.keys) }.sorted()
    }

    /// An access token the Cloud Storage routes accept (as if `POST /token` had issued it), valid for
    /// `lifetime` seconds, with the `devstorage.read_write` scope unless told otherwise.
    public func issueAccessToken(
        lifetime: Duration = .seconds(3600),
        scopes: [String] = ["https://www.googleapis.com/auth/devstorage.read_write"]
    ) -> String {
        let parts = lifetime.components
        return core.issueGCSToken(
            scopes: scopes, lifetime: Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
    }

    /// Makes the token endpoint verify the RS256 signature of JWTs whose `iss` is `email`, with this key.
    /// `pem` may be the key file's `private_key` (PKCS #8), a `PUBLIC KEY`, `RSA PUBLIC KEY`, `RSA PRIVATE KEY`
    /// or an X.509 `CERTIFICATE`. JWTs of issuers never registered are checked for shape, claims and times only.
    /// - Throws: when the PEM holds no RSA key the simulator can read.
    public func registerServiceAccount(email: String, pem: String) throws {
        let key = try ServiceAccountPublicKey(pem: pem)
        core.gcs.withLockedValue { $0.serviceAccounts[email] = key }
    }
}
