import Foundation
import Hummingbird

/// Buckets, objects, upload sessions and access tokens of the Cloud Storage flavor.
///
/// Objects are shared per bucket (not per credential). With a storage directory they live in
/// `<storage>/gcs/buckets/<bucket>/g<generation>.bin` with metadata in `g<generation>.json`.
extension SimulatorCore {
    // MARK: Layout

    var gcsBucketsRoot: String? { storageRoot.map { $0 + "/gcs/buckets" } }

    func gcsBucketDirectory(_ bucket: String) -> String? { gcsBucketsRoot.map { "\($0)/\(bucket)" } }

    private struct BucketFile: Codable { var created: Double }

    /// Loads persisted buckets and objects (called by `loadStorage()`).
    func loadGCSStorage() throws {
        guard let root = gcsBucketsRoot else { return }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        let decoder = JSONDecoder()
        var buckets: [String: GCSBucketState] = [:]
        var lastGeneration: Int64 = 0
        for bucket in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where GCSName.isValidBucket(bucket) {
            let directory = "\(root)/\(bucket)"
            let created = fm.contents(atPath: directory + "/bucket.json")
                .flatMap { try? decoder.decode(BucketFile.self, from: $0) }?.created ?? SimulatorCore.now()
            var state = GCSBucketState(created: created)
            var keep: Set<String> = ["bucket.json"]
            let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            for name in names where name.hasSuffix(".json") && name != "bucket.json" {
                guard let data = fm.contents(atPath: "\(directory)/\(name)"),
                    let record = try? decoder.decode(GCSObjectRecord.self, from: data), record.bucket == bucket,
                    name == record.fileStem + ".json", fm.fileExists(atPath: "\(directory)/\(record.fileStem).bin")
                else { continue }
                // Two generations of one name (a crash between writing the new and removing the old): keep the newer.
                if let existing = state.objects[record.key], existing.generation > record.generation { continue }
                state.objects[record.key] = record
                lastGeneration = max(lastGeneration, record.generation)
            }
            for record in state.objects.values {
                keep.insert(record.fileStem + ".json")
                keep.insert(record.fileStem + ".bin")
            }
            for name in names where !keep.contains(name) { try? fm.removeItem(atPath: "\(directory)/\(name)") }
            buckets[bucket] = state
        }
        gcs.withLockedValue { state in
            state.buckets = buckets
            state.lastGeneration = max(state.lastGeneration, lastGeneration)
            // Sessions wrote to <storage>/tmp, which loadStorage() just emptied.
            state.sessions = [:]
        }
    }

    // MARK: Buckets

    /// A new generation number: microseconds since 1970, strictly increasing.
    private static func nextGeneration(_ state: inout GCSState) -> Int64 {
        let now = Int64(SimulatorCore.now() * 1_000_000)
        state.lastGeneration = max(now, state.lastGeneration + 1)
        return state.lastGeneration
    }

    /// Creates the bucket when missing (inside the lock); its folder is made by the caller's write.
    private func ensureBucket(_ name: String, in state: inout GCSState) throws {
        guard state.buckets[name] == nil else { return }
        let created = SimulatorCore.now()
        if let directory = gcsBucketDirectory(name) {
            try writeBucketFile(directory, created: created)
        }
        state.buckets[name] = GCSBucketState(created: created)
    }

    private func writeBucketFile(_ directory: String, created: Double) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = try JSONEncoder().encode(BucketFile(created: created))
        guard fm.createFile(atPath: directory + "/bucket.json", contents: data) else {
            throw SimIOError("cannot write", path: directory + "/bucket.json")
        }
    }

    /// Creates a bucket; false when it already existed.
    func createGCSBucket(_ name: String) throws -> Bool {
        try gcs.withLockedValue { state in
            guard state.buckets[name] == nil else { return false }
            try ensureBucket(name, in: &state)
            return true
        }
    }

    func gcsBucket(_ name: String) -> GCSBucketState? { gcs.withLockedValue { $0.buckets[name] } }

    // MARK: Objects

    func gcsObject(bucket: String, name: String) throws -> GCSObjectRecord {
        try gcs.withLockedValue { state in
            guard let found = state.buckets[bucket] else { throw GCSError.noSuchBucket }
            guard let record = found.objects[GCSName.key(name)] else {
                throw GCSError.noSuchObject(bucket: bucket, name: name)
            }
            return record
        }
    }

    /// Every object of a bucket, in listing order (UTF-8 byte order of the names); cached until the bucket changes
    /// (a copy-on-write array, so a listing page takes it without copying or sorting).
    func gcsObjects(bucket: String) throws -> [GCSObjectRecord] {
        try gcs.withLockedValue { state in
            guard let found = state.buckets[bucket] else { throw GCSError.noSuchBucket }
            if let sorted = found.sorted { return sorted }
            let sorted = found.objects.values.sorted { GCSName.precedes($0.name, $1.name) }
            state.buckets[bucket]?.sorted = sorted
            return sorted
        }
    }

    func gcsContent(_ record: GCSObjectRecord) -> StoredContent? {
        if let directory = gcsBucketDirectory(record.bucket) {
            return .disk("\(directory)/\(record.fileStem).bin")
        }
        return gcs.withLockedValue { state in
            guard state.buckets[record.bucket]?.objects[record.key]?.generation == record.generation else {
                return nil
            }
            return state.buckets[record.bucket]?.contents[record.key]
        }
    }

    /// Stores finished content as the live version of `name` (replacing any older one). Checks the
    /// preconditions against the live version atomically; creates the bucket when missing.
    /// - Parameter content: owned by this call from here on (moved into place, or removed on failure).
    func commitGCSObject(
        bucket: String, name: String, contentType: String, metadata: [String: String]?, content: StoredContent,
        preconditions: GCSPreconditions?, created: Double? = nil
    ) throws -> GCSObjectRecord {
        let digests: (md5: String, crc32c: String, size: Int64)
        do {
            digests = try Digests.gcs(content)
        } catch {
            if case .disk(let path) = content { unlink(path) }
            throw error
        }
        let outcome = gcs.withLockedValue { state -> Result<(GCSObjectRecord, GCSObjectRecord?), any Error> in
            do {
                let key = GCSName.key(name)
                let previous = state.buckets[bucket]?.objects[key]
                try preconditions?.check(previous)
                try ensureBucket(bucket, in: &state)
                let record = GCSObjectRecord(
                    bucket: bucket, name: name, generation: SimulatorCore.nextGeneration(&state), metageneration: 1,
                    contentType: contentType, size: digests.size, md5Hash: digests.md5, crc32c: digests.crc32c,
                    created: created ?? SimulatorCore.now(), metadata: metadata, sha256: nil)
                if let directory = gcsBucketDirectory(bucket) {
                    try persist(record, content: content, in: directory)
                } else {
                    state.buckets[bucket]?.contents[key] = content
                }
                state.buckets[bucket]?.objects[key] = record
                return .success((record, previous))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let (record, previous)):
            if let previous, let directory = gcsBucketDirectory(bucket) {
                unlink("\(directory)/\(previous.fileStem).json")
                unlink("\(directory)/\(previous.fileStem).bin")
            }
            return record
        case .failure(let error):
            if case .disk(let path) = content { unlink(path) }
            throw error
        }
    }

    /// Moves (or writes) the bytes into the bucket folder, then writes the metadata atomically.
    private func persist(_ record: GCSObjectRecord, content: StoredContent, in directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binPath = "\(directory)/\(record.fileStem).bin"
        try content.place(at: binPath)
        guard writeJSONAtomically(record, to: "\(directory)/\(record.fileStem).json") else {
            // Put the bytes back where the caller expects to clean them up.
            if case .disk(let path) = content { _ = rename(binPath, path) } else { unlink(binPath) }
            throw SimIOError("cannot write metadata", path: directory)
        }
    }

    /// Deletes the live version of an object.
    func deleteGCSObject(bucket: String, name: String, generation: Int64?, preconditions: GCSPreconditions?) throws {
        let removed = try gcs.withLockedValue { state -> GCSObjectRecord in
            guard state.buckets[bucket] != nil else { throw GCSError.noSuchBucket }
            let key = GCSName.key(name)
            guard let record = state.buckets[bucket]?.objects[key], generation == nil || generation == record.generation
            else { throw GCSError.noSuchObject(bucket: bucket, name: name) }
            try preconditions?.check(record)
            state.buckets[bucket]?.objects.removeValue(forKey: key)
            state.buckets[bucket]?.contents.removeValue(forKey: key)
            return record
        }
        if let directory = gcsBucketDirectory(bucket) {
            unlink("\(directory)/\(removed.fileStem).json")
            unlink("\(directory)/\(removed.fileStem).bin")
        }
    }

    /// The content's SHA-256 (hex), computed and remembered on first use.
    func gcsSHA256(_ record: GCSObjectRecord) -> String {
        if let known = record.sha256 { return known }
        guard let content = gcsContent(record), let digest = Digests.sha256Hex(content) else { return "" }
        gcs.withLockedValue { state in
            if state.buckets[record.bucket]?.objects[record.key]?.generation == record.generation {
                state.buckets[record.bucket]?.objects[record.key]?.sha256 = digest
            }
        }
        return digest
    }

    func simulatedFile(_ record: GCSObjectRecord) -> SimulatedFile {
        SimulatedFile(
            id: "gs://\(record.bucket)/\(record.name)", filename: record.name, bytes: record.size, purpose: "",
            createdAt: Int64(record.created.rounded(.down)), expiresAt: nil, status: "processed",
            sha256: gcsSHA256(record), flavor: .gcs)
    }

    // MARK: Tokens

    static let accessTokenLifetime: Double = 3600

    /// A fresh access token, valid for `lifetime` seconds.
    func issueGCSToken(scopes: [String], lifetime: Double = SimulatorCore.accessTokenLifetime) -> String {
        let token = state.withLockedValue { "ya29.sim-" + $0.idRandom.alphanumeric(48) }
        let hash = Digests.sha256Hex(Array(token.utf8))
        gcs.withLockedValue { $0.tokens[hash] = GCSIssuedToken(expires: SimulatorCore.now() + lifetime, scopes: scopes) }
        return token
    }

    func gcsToken(_ token: String) -> GCSIssuedToken? {
        let hash = Digests.sha256Hex(Array(token.utf8))
        return gcs.withLockedValue { $0.tokens[hash] }
    }

    func newGCSUploadID() -> String { state.withLockedValue { "ADPycd" + $0.idRandom.alphanumeric(58) } }
}
