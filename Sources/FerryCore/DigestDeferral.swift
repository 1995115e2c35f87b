/// Which sources an apply may hash while it uploads them, instead of reading them once to hash before planning and
/// once more to upload.
///
/// The planner compares a source's SHA-256 with what is held wherever something is held: an owned file (in sync or
/// replaced), a write-ahead intent's upload (adopted, then compared), a file of a name no longer declared (a rename by
/// content), a listed file with the declared file's name and size (adopted by `ferry import`). A digest can wait for
/// the upload only where none of these exists on any of the file's endpoints, so that its every placement is a plain
/// create, and only on providers whose create does not send the digest before the content (Cloud Storage keeps it in
/// the object's metadata, S3 in the object key and the signed payload hash).
public enum DigestDeferral {
    /// What a write-ahead intent records instead of a digest while the digest is being computed by the upload: the
    /// source's size, mtime and inode when the upload started (`stamp`). A later run whose source still has that
    /// stamp takes the digest it computes now (`resolvingIntents`), so an upload interrupted by a crash is adopted
    /// with its real digest.
    public static let intentMarkerPrefix = "unhashed:"

    /// The marker an intent records for a source with this stamp.
    public static func intentMarker(size: Int64, mtimeNanoseconds: Int64, inode: Int64) -> String {
        "\(intentMarkerPrefix)\(size):\(mtimeNanoseconds):\(inode)"
    }

    /// The source paths among `candidates` (sources not hashed yet) whose digest the plan does without: every
    /// placement of every file with that source is on a listed endpoint whose provider takes the content before its
    /// digest, and where nothing is owned or claimed under the file's name, nothing is owned or claimed under a name
    /// no longer declared there (a rename by content), and no listed file has the file's name and size.
    public static func deferrable(_ input: PlanInput, candidates: Set<String>) -> Set<String> {
        guard !candidates.isEmpty else { return [] }
        let endpoints = Dictionary(
            (input.desired.knownEndpoints + input.desired.endpoints).map { ($0.id, $0) },
            uniquingKeysWith: { a, _ in a })
        let files = input.desired.files
        let placements = input.desired.resolvedPlacements()

        // Names declared on each endpoint, and names held there (owned or claimed by an intent).
        var declared: [String: Set<String>] = [:]
        for (index, file) in files.enumerated() {
            for (endpoint, _) in placements[index] { declared[endpoint.id, default: []].insert(file.name) }
        }
        var held: [String: Set<String>] = [:]
        for record in input.owned { held[record.endpointID, default: []].insert(record.file) }
        for intent in input.intents { held[intent.endpointID, default: []].insert(intent.file) }
        // An endpoint holding something under a name not declared there may move it to a new name by content.
        let renaming = Set(held.filter { id, names in !names.isSubset(of: declared[id] ?? []) }.keys)
        // Listed files by name and size, per endpoint that any candidate is placed on.
        var shapes: [String: Set<Shape>] = [:]
        func shapesListed(on id: String) -> Set<Shape>? {
            if let known = shapes[id] { return known }
            guard let listing = input.observations[id]?.files else { return nil }
            let listed = Set(listing.map { Shape(filename: $0.filename, bytes: $0.bytes) })
            shapes[id] = listed
            return listed
        }

        // A source is deferred only when every file that reads it can do without its digest.
        var needed = Set<String>()
        var seen = Set<String>()
        for (index, file) in files.enumerated() where candidates.contains(file.sourcePath) {
            seen.insert(file.sourcePath)
            let places = placements[index]
            let plain =
                !places.isEmpty
                && places.allSatisfy { endpoint, _ in
                    guard endpoints[endpoint.id] != nil, !endpoint.kind.sendsDigestBeforeContent,
                        !renaming.contains(endpoint.id), !(held[endpoint.id]?.contains(file.name) ?? false),
                        let listed = shapesListed(on: endpoint.id)
                    else { return false }
                    return !listed.contains(Shape(filename: file.filename, bytes: file.bytes))
                }
            if !plain { needed.insert(file.sourcePath) }
        }
        return seen.subtracting(needed)
    }

    /// `intents` with each marker (`intentMarker`) replaced by its file's digest where the file's source still has
    /// the stamp the marker records (`currentMarkers`, by source path) and its digest is known; other markers stay, so
    /// an upload whose source changed since is adopted as unknown content and replaced.
    public static func resolvingIntents(
        _ intents: [CreateIntent], desired: DesiredState, digests: [String: String], currentMarkers: [String: String]
    ) -> [CreateIntent] {
        let sources = Dictionary(desired.files.map { ($0.name, $0.sourcePath) }, uniquingKeysWith: { a, _ in a })
        return intents.map { intent in
            guard intent.digest.hasPrefix(intentMarkerPrefix), let source = sources[intent.file],
                currentMarkers[source] == intent.digest, let digest = digests[source]
            else { return intent }
            var resolved = intent
            resolved.digest = digest
            return resolved
        }
    }

    private struct Shape: Hashable {
        var filename: String
        var bytes: Int64
    }
}

extension ProviderKind {
    /// Whether a create sends the content's SHA-256 before the content (Cloud Storage's `ferry-sha256` metadata, the
    /// S3 object key and signed payload hash), so the digest must be known when the upload starts.
    public var sendsDigestBeforeContent: Bool {
        switch self {
        case .vertex, .bedrock: return true
        case .openai, .azure, .anthropic, .gemini: return false
        }
    }
}
