import FerryCore
import FerryProviders
import Foundation

/// What one command cost: provider requests, source reads and where the time went. Shown as `stats` in
/// `ferry plan -o json` and `ferry reconcile -o json` (docs/plan-json.md); never part of a saved plan.
public struct RunStats: Codable, Sendable, Hashable {
    /// Provider requests sent by this process (every attempt counts, retries included).
    public struct Requests: Codable, Sendable, Hashable {
        public var total = 0
        /// Requests per operation (`list`, `create`, `delete`, `uploadPart`, …); operations never used are absent.
        public var byOperation: [String: Int] = [:]
        /// Attempts that failed (retried or not).
        public var failures = 0
        /// Attempts beyond the first.
        public var retries = 0

        public init(total: Int = 0, byOperation: [String: Int] = [:], failures: Int = 0, retries: Int = 0) {
            self.total = total
            self.byOperation = byOperation
            self.failures = failures
            self.retries = retries
        }
    }

    /// The source digest pass (`SourceDigester`).
    public struct Digests: Codable, Sendable, Hashable {
        /// Sources read and hashed (not in the cache, or changed since).
        public var hashed = 0
        /// Sources whose size, mtime and inode matched the cache: not read at all.
        public var cached = 0
        /// Source bytes read to hash them.
        public var bytesRead: Int64 = 0

        public init(hashed: Int = 0, cached: Int = 0, bytesRead: Int64 = 0) {
            self.hashed = hashed
            self.cached = cached
            self.bytesRead = bytesRead
        }

        public init(_ report: SourceDigester.Report) {
            self.init(hashed: report.hashed, cached: report.cached, bytesRead: report.bytesRead)
        }
    }

    public var requests = Requests()
    /// List requests (pages) that returned a page, over every observe round.
    public var listPages = 0
    public var digests = Digests()
    /// Wall-clock seconds per phase, summed over rounds: `validate` (reading and checking manifests), `digests`
    /// (source digests), `list` (provider listings, including storing them), `storeListings` (writing listings to the
    /// state store, each as it arrives, so it overlaps `list`), `plan`
    /// (reading owned files and running the planner), `saveSnapshot` (the status view's copy of the plan), `apply`
    /// (uploads and deletes). Phases that did not run are absent.
    public var seconds: [String: Double] = [:]

    public init(requests: Requests = Requests(), listPages: Int = 0, digests: Digests = Digests(), seconds: [String: Double] = [:]) {
        self.requests = requests
        self.listPages = listPages
        self.digests = digests
        self.seconds = seconds
    }
}

/// A plan as printed by `-o json`: the plan's own keys, plus `stats`.
public struct PlanWithStats: Encodable, Sendable {
    public var plan: Plan
    public var stats: RunStats

    public init(plan: Plan, stats: RunStats) {
        self.plan = plan
        self.stats = stats
    }

    enum CodingKeys: String, CodingKey { case stats }

    public func encode(to encoder: any Encoder) throws {
        try plan.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stats, forKey: .stats)
    }

    /// Stable JSON (sorted keys, pretty printed), the plan schema with a `stats` object.
    public func renderJSON() throws -> String {
        let data = try PlanJSON.encode(placements: plan.placements, depth: 0) { placements in
            var document = self
            document.plan.placements = placements
            return try Plan.jsonEncoder.encode(document)
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// Phase timings and page counts an engine accumulates over its life (one command).
final class EngineCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: [String: Double] = [:]
    private var pages = 0
    private var digests = RunStats.Digests()

    func add(_ phase: String, since start: ContinuousClock.Instant) {
        let elapsed = start.duration(to: .now)
        let value = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        lock.withLock { seconds[phase, default: 0] += value }
    }

    func addPages(_ count: Int) { lock.withLock { pages += count } }

    func addDigests(_ report: SourceDigester.Report) {
        lock.withLock {
            digests.hashed += report.hashed
            digests.cached += report.cached
            digests.bytesRead += report.bytesRead
        }
    }

    func snapshot() -> (seconds: [String: Double], pages: Int, digests: RunStats.Digests) {
        lock.withLock { (seconds, pages, digests) }
    }
}
