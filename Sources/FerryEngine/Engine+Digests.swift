import FerryCore
import FerryProviders
import FerryStore
import Foundation

extension SourceDigester {
    /// Digests the cache holds for `paths` with their current stamp; the paths it does not hold are left to hash.
    func cachedDigests(for paths: [String]) throws -> (digests: [String: String], unhashed: [String], report: Report) {
        let wanted = Set(paths)
        let cache = try store.cachedDigests(for: wanted)
        var digests: [String: String] = [:]
        var unhashed: [String] = []
        var report = Report()
        digests.reserveCapacity(paths.count)
        for path in wanted {
            if let (cachedStamp, digest) = cache[path], cachedStamp == (try stamp(path)) {
                digests[path] = digest
                report.cached += 1
            } else {
                unhashed.append(path)
            }
        }
        return (digests, unhashed.sorted(), report)
    }
}

extension FileStamp {
    /// What a write-ahead intent records for a source whose digest its upload computes.
    var intentMarker: String {
        DigestDeferral.intentMarker(size: size, mtimeNanoseconds: mtimeNanoseconds, inode: inode)
    }
}

extension Engine {
    /// Fills in the digests a plan needs that the load left out (`LoadedInputs.unhashed`): those cached since (by
    /// this apply's uploads, or another run), then those the planner compares with something held (hashed now);
    /// the rest are computed by their uploads and marked deferred. Intents an interrupted upload left with a marker
    /// instead of a digest get their source's digest while the source is unchanged.
    func completeDigests(_ input: inout PlanInput, unhashed: [String]) async throws {
        let digester = SourceDigester(tree: tree, store: store, persist: !configuration.readOnlyState)
        let missing = unhashed.filter { input.digests[$0] == nil }
        if !missing.isEmpty {
            let start = ContinuousClock.now
            let (cached, stillMissing, _) = try digester.cachedDigests(for: missing)
            input.digests.merge(cached) { a, _ in a }
            let deferred = DigestDeferral.deferrable(input, candidates: Set(stillMissing))
            let needed = stillMissing.filter { !deferred.contains($0) }
            if !needed.isEmpty {
                let (hashed, report) = try await digester.digests(for: needed)
                input.digests.merge(hashed) { a, _ in a }
                counters.addDigests(report)
                self.report(.hashed(report))
            }
            input.deferredDigests = deferred
            counters.add("digests", since: start)
            if !deferred.isEmpty {
                logger.info("\(deferred.count) source(s) to be hashed while they upload")
            }
        }
        if input.intents.contains(where: { $0.digest.hasPrefix(DigestDeferral.intentMarkerPrefix) }) {
            let sources = Dictionary(input.desired.files.map { ($0.name, $0.sourcePath) }, uniquingKeysWith: { a, _ in a })
            var markers: [String: String] = [:]
            for intent in input.intents where intent.digest.hasPrefix(DigestDeferral.intentMarkerPrefix) {
                guard let source = sources[intent.file], let stamp = try? digester.stamp(source) else { continue }
                markers[source] = stamp.intentMarker
            }
            input.intents = DigestDeferral.resolvingIntents(
                input.intents, desired: input.desired, digests: input.digests, currentMarkers: markers)
        }
    }

    /// The digest to record for an upload whose digest was deferred: the one computed from the bytes sent, when the
    /// source kept the stamp it had when the upload started (`before`) and the requests carried every byte in order;
    /// the source hashed again when the requests ran side by side (parts); nil when the source changed meanwhile.
    /// A recorded digest goes to the digest cache too, so the next plan reads nothing.
    func digestOfUpload(sourcePath: String, before: FileStamp, hasher: UploadHasher) -> String? {
        let digester = SourceDigester(tree: tree, store: store, persist: !configuration.readOnlyState)
        guard (try? digester.stamp(sourcePath)) == before else { return nil }
        var digest = hasher.digest
        if digest == nil {
            // Parts sent side by side were fed out of order: read the source once more (it is likely still cached).
            digest = try? SourceDigester.sha256(file: tree.absolutePath(sourcePath))
            guard (try? digester.stamp(sourcePath)) == before else { return nil }
        }
        if let digest, digester.persist { try? store.storeDigests([sourcePath: (before, digest)]) }
        return digest
    }
}
