import Foundation
import Hummingbird

/// One account: a flavor plus the SHA-256 of an API key (keys themselves are never stored).
struct TenantID: Hashable, Sendable {
    let flavor: SimulatorFlavor
    let keyHash: String

    init(flavor: SimulatorFlavor, apiKey: String) {
        self.flavor = flavor
        self.keyHash = String(SHA256Hasher.hex(Array(apiKey.utf8)).prefix(32))
    }

    init(flavor: SimulatorFlavor, keyHash: String) {
        self.flavor = flavor
        self.keyHash = keyHash
    }

    /// Folder name under `<storage>/tenants/`.
    var directoryName: String { "\(flavor.rawValue)-\(keyHash)" }
}

/// Position of a file in listings: `created_at`, then id.
struct SortKey: Comparable, Sendable {
    let createdAt: Int64
    let id: String

    static func < (lhs: SortKey, rhs: SortKey) -> Bool {
        lhs.createdAt != rhs.createdAt ? lhs.createdAt < rhs.createdAt : lhs.id < rhs.id
    }
}

/// Metadata of a stored file; persisted as `<id>.json` next to `<id>.bin`.
struct FileRecord: Codable, Sendable {
    var id: String
    var flavor: SimulatorFlavor
    var filename: String
    var bytes: Int64
    var purpose: String
    var createdAt: Int64
    /// Creation time with sub-second precision (drives processing delay and list lag).
    var createdAtPrecise: Double
    var expiresAt: Int64?
    /// Computed when first asked for (see `SimulatorCore.simulatedFile`), not while uploading.
    var sha256: String?

    var sortKey: SortKey { SortKey(createdAt: createdAt, id: id) }
}

struct PartRecord: Sendable {
    let id: String
    let createdAt: Int64
    let size: Int64
    let content: StoredContent
}

/// An OpenAI Uploads API upload (kept in memory only).
struct UploadRecord: Sendable {
    let id: String
    let filename: String
    let purpose: String
    let mimeType: String
    let bytes: Int64
    let createdAt: Int64
    let expiresAt: Int64
    var status: String  // pending, completed, cancelled, expired
    var parts: [String: PartRecord] = [:]
    var fileID: String?
}

struct Tenant: Sendable {
    var files: [String: FileRecord] = [:]
    /// Content of each file when there is no storage directory.
    var contents: [String: StoredContent] = [:]
    /// Sort keys of deleted files, so a listing cursor that names one keeps its place.
    var tombstones: [String: SortKey] = [:]
    var uploads: [String: UploadRecord] = [:]
}

struct SimState: Sendable {
    var tenants: [TenantID: Tenant] = [:]
    /// Ids handed out but not yet committed (a create in flight).
    var reservedIDs: Set<String> = []
    var plan: FaultPlan
    var faultRandom: SimRandom
    var idRandom: SimRandom
    var stats = SimulatorStats()
    /// Provider requests being handled right now (stop() waits for them).
    var inFlight = 0
}

/// State and storage shared by the HTTP handlers and the public `Simulator` API.
final class SimulatorCore: Sendable {
    let configuration: SimulatorConfiguration
    let state: Locked<SimState>
    let storageRoot: String?
    /// Cloud Storage buckets, upload sessions and tokens (see GCSStore.swift).
    let gcs = Locked(GCSState())

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        let seed = configuration.faults.seed
        self.state = Locked(
            SimState(
                plan: configuration.faults,
                faultRandom: SimRandom(seed: seed),
                idRandom: SimRandom(seed: seed.map { $0 ^ 0x5EED_1D5E_ED1D_5EED })
            )
        )
        self.storageRoot = configuration.storageDirectory.map {
            URL(fileURLWithPath: $0).standardizedFileURL.path
        }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    var processingDelaySeconds: Double {
        let parts = configuration.processingDelay.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    // MARK: Faults and stats

    func currentPlan() -> FaultPlan { state.withLock { $0.plan } }

    func setPlan(_ plan: FaultPlan) {
        state.withLock {
            $0.plan = plan
            $0.faultRandom = SimRandom(seed: plan.seed)
        }
    }

    /// One Bernoulli draw; no draw at all (so seeded sequences stay put) when the rate is 0.
    func draw(_ rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return state.withLock { $0.faultRandom.unit() < rate }
    }

    func pickStatus(_ statuses: [Int]) -> Int {
        guard statuses.count > 1 else { return statuses.first ?? 500 }
        return state.withLock { statuses[Int($0.faultRandom.next() % UInt64(statuses.count))] }
    }

    func countRequest(_ routeKey: String) {
        state.withLock {
            $0.stats.requests[routeKey, default: 0] += 1
            $0.stats.total += 1
        }
    }

    func countResponse(_ status: Int) {
        state.withLock { $0.stats.responses[String(status), default: 0] += 1 }
    }

    func countInjectedError(_ status: Int) {
        state.withLock {
            $0.stats.injectedErrors += 1
            $0.stats.injectedErrorsByStatus[String(status), default: 0] += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countAcceptThenFail() {
        state.withLock {
            $0.stats.acceptedThenFailed += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countReset() {
        state.withLock {
            $0.stats.connectionResets += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countBytes(uploaded: Int64 = 0, downloaded: Int64 = 0) {
        state.withLock {
            $0.stats.bytesUploaded += uploaded
            $0.stats.bytesDownloaded += downloaded
        }
    }

    func stats() -> SimulatorStats { state.withLock { $0.stats } }

    func inFlight() -> Int { state.withLock { $0.inFlight } }
    func enter() { state.withLock { $0.inFlight += 1 } }
    func leave() { state.withLock { $0.inFlight -= 1 } }
    func resetStats() { state.withLock { $0.stats = SimulatorStats() } }

    // MARK: Ids

    func newRequestID() -> String {
        var random = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return "req_" + String(decoding: (0..<32).map { _ in digits[Int(random.next() & 0xf)] }, as: UTF8.self)
    }

    /// A new, unused file id, reserved until `commit` or `releaseReservation`.
    func reserveFileID(flavor: SimulatorFlavor) -> String {
        state.withLock { state in
            while true {
                let id: String
                switch flavor {
                case .openai: id = "file-" + state.idRandom.alphanumeric(24)
                case .azure: id = "file-" + state.idRandom.hex(32)
                case .gcs: id = "file-" + state.idRandom.alphanumeric(24)  // Cloud Storage objects have no file ids
                }
                if state.reservedIDs.contains(id) { continue }
                if state.tenants.values.contains(where: { $0.files[id] != nil || $0.tombstones[id] != nil }) { continue }
                state.reservedIDs.insert(id)
                return id
            }
        }
    }

    func releaseReservation(_ id: String) {
        _ = state.withLock { $0.reservedIDs.remove(id) }
    }

    func newUploadID() -> String { state.withLock { "upload_" + $0.idRandom.alphanumeric(24) } }
    func newPartID() -> String { state.withLock { "part_" + $0.idRandom.alphanumeric(24) } }

    // MARK: Status

    func status(of record: FileRecord, now: Double) -> String {
        if now - record.createdAtPrecise < processingDelaySeconds {
            return record.flavor == .azure ? "pending" : "uploaded"
        }
        return "processed"
    }

    func simulatedFile(_ record: FileRecord, now: Double) -> SimulatedFile {
        SimulatedFile(
            id: record.id, filename: record.filename, bytes: record.bytes, purpose: record.purpose,
            createdAt: record.createdAt, expiresAt: record.expiresAt, status: status(of: record, now: now),
            sha256: sha256(of: record), flavor: record.flavor
        )
    }

    /// The content's SHA-256, computed (and remembered) on first use.
    func sha256(of record: FileRecord) -> String {
        if let known = record.sha256 { return known }
        guard let owner = state.withLock({ state in state.tenants.first { $0.value.files[record.id] != nil }?.key }),
            let content = content(of: owner, id: record.id), let digest = ContentReader.sha256(content)
        else { return "" }
        state.withLock { $0.tenants[owner]?.files[record.id]?.sha256 = digest }
        return digest
    }

    // MARK: Storage layout

    var tempDirectory: String? { storageRoot.map { $0 + "/tmp" } }

    func tenantDirectory(_ tenant: TenantID) -> String? {
        storageRoot.map { "\($0)/tenants/\(tenant.directoryName)" }
    }

    /// A fresh path for streaming an incoming body to disk (nil: keep it in memory).
    func newTempPath() -> String? {
        guard let temp = tempDirectory else { return nil }
        return "\(temp)/\(UUID().uuidString).part"
    }

    /// Creates the storage folders and loads every persisted file. Called by `start()`.
    func loadStorage() throws {
        guard let root = storageRoot else { return }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/tenants", withIntermediateDirectories: true)
        // In-flight uploads and upload parts do not survive a restart.
        try? fm.removeItem(atPath: root + "/tmp")
        try fm.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)

        var loaded: [TenantID: Tenant] = [:]
        let decoder = JSONDecoder()
        for folder in (try? fm.contentsOfDirectory(atPath: root + "/tenants")) ?? [] {
            guard let dash = folder.firstIndex(of: "-"),
                let flavor = SimulatorFlavor(rawValue: String(folder[..<dash]))
            else { continue }
            let tenantID = TenantID(flavor: flavor, keyHash: String(folder[folder.index(after: dash)...]))
            let directory = "\(root)/tenants/\(folder)"
            var tenant = Tenant()
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] {
                let path = "\(directory)/\(name)"
                if name.hasSuffix(".json") {
                    let id = String(name.dropLast(5))
                    guard let data = fm.contents(atPath: path),
                        let record = try? decoder.decode(FileRecord.self, from: data), record.id == id,
                        fm.fileExists(atPath: "\(directory)/\(id).bin")
                    else {
                        try? fm.removeItem(atPath: path)
                        continue
                    }
                    tenant.files[id] = record
                } else if name.hasSuffix(".tmp") {
                    try? fm.removeItem(atPath: path)
                }
            }
            // A .bin without metadata is an interrupted create: drop it.
            for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".bin") {
                if tenant.files[String(name.dropLast(4))] == nil { try? fm.removeItem(atPath: "\(directory)/\(name)") }
            }
            loaded[tenantID] = tenant
        }
        state.withLock { state in
            // Keep tombstones and uploads of tenants seen before a restart of the same instance.
            var merged = loaded
            for (id, tenant) in state.tenants {
                merged[id, default: Tenant()].tombstones = tenant.tombstones
            }
            state.tenants = merged
        }
        try loadGCSStorage()
    }

    /// Where the content of a committed file lives.
    func content(of tenant: TenantID, id: String) -> StoredContent? {
        if let directory = tenantDirectory(tenant) {
            return .disk("\(directory)/\(id).bin")
        }
        return state.withLock { $0.tenants[tenant]?.contents[id] }
    }

    // MARK: Files

    /// Stores a finished content as a new file. `id` must come from `reserveFileID`.
    func commitFile(
        tenant: TenantID, id: String, filename: String, purpose: String, content: StoredContent,
        size: Int64, sha256: String?, createdAt: Int64? = nil, expiresAfterSeconds: Int64? = nil
    ) throws -> FileRecord {
        defer { releaseReservation(id) }
        let now = SimulatorCore.now()
        let created = createdAt ?? Int64(now)
        let record = FileRecord(
            id: id, flavor: tenant.flavor, filename: filename, bytes: size, purpose: purpose,
            createdAt: created, createdAtPrecise: createdAt.map(Double.init) ?? now,
            expiresAt: expiresAfterSeconds.map { created + $0 }, sha256: sha256
        )
        var memoryContent: StoredContent?
        if let directory = tenantDirectory(tenant) {
            let fm = FileManager.default
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let binPath = "\(directory)/\(id).bin"
            switch content {
            case .disk(let path):
                guard rename(path, binPath) == 0 else { throw SimIOError("cannot move upload to", path: binPath) }
            case .memory(let buffer):
                guard fm.createFile(atPath: binPath, contents: Data(buffer.readableBytesView)) else {
                    throw SimIOError("cannot write", path: binPath)
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let metadata = try encoder.encode(record)
            let tmp = "\(directory)/\(id).json.tmp"
            guard fm.createFile(atPath: tmp, contents: metadata), rename(tmp, "\(directory)/\(id).json") == 0 else {
                try? fm.removeItem(atPath: binPath)
                throw SimIOError("cannot write metadata", path: directory)
            }
        } else {
            memoryContent = content
        }
        state.withLock { state in
            state.tenants[tenant, default: Tenant()].files[id] = record
            if let memoryContent { state.tenants[tenant, default: Tenant()].contents[id] = memoryContent }
        }
        return record
    }

    /// The file, unless it is unknown or expired (expired files are removed on the way).
    func file(_ tenant: TenantID, id: String, now: Double) -> FileRecord? {
        guard let record = state.withLock({ $0.tenants[tenant]?.files[id] }) else { return nil }
        if let expires = record.expiresAt, now >= Double(expires) {
            _ = deleteFile(tenant, id: id)
            return nil
        }
        return record
    }

    /// Removes a file; returns false when there was none.
    @discardableResult
    func deleteFile(_ tenant: TenantID, id: String) -> Bool {
        let removed = state.withLock { state -> FileRecord? in
            guard let record = state.tenants[tenant]?.files.removeValue(forKey: id) else { return nil }
            state.tenants[tenant]?.contents.removeValue(forKey: id)
            state.tenants[tenant]?.tombstones[id] = record.sortKey
            return record
        }
        guard removed != nil else { return false }
        if let directory = tenantDirectory(tenant) {
            unlink("\(directory)/\(id).json")
            unlink("\(directory)/\(id).bin")
        }
        return true
    }

    enum ListError: Error { case unknownCursor }

    /// One page of a listing: files sorted by (created_at, id), newest first for `descending`.
    func list(
        _ tenant: TenantID, purpose: String?, descending: Bool, after: String?, limit: Int, now: Double
    ) throws -> (page: [FileRecord], hasMore: Bool) {
        let (records, cursor) = try state.withLock { state -> ([FileRecord], SortKey?) in
            let t = state.tenants[tenant] ?? Tenant()
            var cursor: SortKey?
            if let after {
                guard let key = t.files[after]?.sortKey ?? t.tombstones[after] else { throw ListError.unknownCursor }
                cursor = key
            }
            return (Array(t.files.values), cursor)
        }
        let lag = currentPlan().listLagSeconds
        var expired: [String] = []
        var visible = records.filter { record in
            if let expires = record.expiresAt, now >= Double(expires) {
                expired.append(record.id)
                return false
            }
            if let purpose, record.purpose != purpose { return false }
            if lag > 0, now - record.createdAtPrecise < lag { return false }
            if let cursor {
                return descending ? record.sortKey < cursor : cursor < record.sortKey
            }
            return true
        }
        for id in expired { deleteFile(tenant, id: id) }
        visible.sort { descending ? $1.sortKey < $0.sortKey : $0.sortKey < $1.sortKey }
        let hasMore = visible.count > limit
        return (Array(visible.prefix(limit)), hasMore)
    }

    func allFiles(_ tenant: TenantID) -> [FileRecord] {
        state.withLock { Array(($0.tenants[tenant] ?? Tenant()).files.values) }.sorted { $0.sortKey < $1.sortKey }
    }
}
