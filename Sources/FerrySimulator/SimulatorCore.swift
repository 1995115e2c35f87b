import Foundation
import NIOConcurrencyHelpers

/// State and storage shared by the HTTP handlers and the public `Simulator` API.
final class SimulatorCore: Sendable {
    let configuration: SimulatorConfiguration
    let state: NIOLockedValueBox<SimState>
    let storageRoot: String?
    /// Cloud Storage buckets, upload sessions and tokens (see GCSStore.swift).
    let gcs = NIOLockedValueBox(GCSState())
    /// S3 buckets, objects and multipart uploads (see S3Store.swift).
    let s3 = NIOLockedValueBox(S3State())
    /// OpenAI and Azure vector stores (in memory; see VectorStoreRoutes.swift).
    let vectorStores = NIOLockedValueBox(VectorStoreState())
    /// Gemini resumable upload sessions by upload id (see GeminiUploads.swift).
    let geminiSessions = NIOLockedValueBox([String: GeminiSession]())

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        let seed = configuration.faults.seed
        self.state = NIOLockedValueBox(
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

    func currentPlan() -> FaultPlan { state.withLockedValue { $0.plan } }

    func setPlan(_ plan: FaultPlan) {
        state.withLockedValue {
            $0.plan = plan
            $0.faultRandom = SimRandom(seed: plan.seed)
        }
    }

    /// One Bernoulli draw; no draw at all (so seeded sequences stay put) when the rate is 0.
    func draw(_ rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return state.withLockedValue { $0.faultRandom.unit() < rate }
    }

    /// The next status `FaultPlan.failNext` holds for `operation` (removed from the plan), or nil.
    func takeScriptedError(_ operation: String) -> Int? {
        state.withLockedValue { state in
            guard var statuses = state.plan.failNext[operation], !statuses.isEmpty else { return nil }
            let status = statuses.removeFirst()
            state.plan.failNext[operation] = statuses.isEmpty ? nil : statuses
            return status
        }
    }

    /// The next byte count `FaultPlan.truncateNextChunks` holds (removed from the plan), or nil.
    func takeChunkTruncation() -> Int64? {
        state.withLockedValue { state in
            guard !state.plan.truncateNextChunks.isEmpty else { return nil }
            return state.plan.truncateNextChunks.removeFirst()
        }
    }

    func pickStatus(_ statuses: [Int]) -> Int {
        guard statuses.count > 1 else { return statuses.first ?? 500 }
        return state.withLockedValue { statuses[Int($0.faultRandom.next() % UInt64(statuses.count))] }
    }

    func countRequest(_ routeKey: String) {
        state.withLockedValue {
            $0.stats.requests[routeKey, default: 0] += 1
            $0.stats.total += 1
        }
    }

    func countResponse(_ status: Int) {
        state.withLockedValue { $0.stats.responses[String(status), default: 0] += 1 }
    }

    func countInjectedError(_ status: Int) {
        state.withLockedValue {
            $0.stats.injectedErrors += 1
            $0.stats.injectedErrorsByStatus[String(status), default: 0] += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countAcceptThenFail() {
        state.withLockedValue {
            $0.stats.acceptedThenFailed += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countReset() {
        state.withLockedValue {
            $0.stats.connectionResets += 1
            $0.stats.injectedFaults += 1
        }
    }

    func countBytes(uploaded: Int64 = 0, downloaded: Int64 = 0) {
        state.withLockedValue {
            $0.stats.bytesUploaded += uploaded
            $0.stats.bytesDownloaded += downloaded
        }
    }

    func stats() -> SimulatorStats { state.withLockedValue { $0.stats } }

    func resetStats() {
        state.withLockedValue { state in
            state.stats = SimulatorStats()
            state.modelCalls = []
        }
    }

    // MARK: Ids

    func newRequestID() -> String {
        var random = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        return "req_" + String(decoding: (0..<32).map { _ in digits[Int(random.next() & 0xf)] }, as: UTF8.self)
    }

    /// A new, unused file id, reserved until `commit` or `releaseReservation`.
    func reserveFileID(flavor: SimulatorFlavor) -> String {
        state.withLockedValue { state in
            while true {
                let id: String
                switch flavor {
                case .openai: id = "file-" + state.idRandom.alphanumeric(24)
                case .azure: id = "file-" + state.idRandom.hex(32)
                case .gcs: id = "file-" + state.idRandom.alphanumeric(24)  // Cloud Storage objects have no file ids
                case .anthropic: id = "file_011" + state.idRandom.alphanumeric(21)
                case .gemini: id = state.idRandom.hex(12)  // the resource name is files/<id>
                }
                if state.reservedIDs.contains(id) { continue }
                if state.tenants.values.contains(where: { $0.files[id] != nil || $0.tombstones[id] != nil }) { continue }
                state.reservedIDs.insert(id)
                return id
            }
        }
    }

    func releaseReservation(_ id: String) {
        _ = state.withLockedValue { $0.reservedIDs.remove(id) }
    }

    func newUploadID() -> String { state.withLockedValue { "upload_" + $0.idRandom.alphanumeric(24) } }
    func newPartID() -> String { state.withLockedValue { "part_" + $0.idRandom.alphanumeric(24) } }
}
