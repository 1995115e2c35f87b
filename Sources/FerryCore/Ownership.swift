#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A remote file Ferry created (or adopted) for a placement, as recorded in the state store.
public struct OwnedFile: Hashable, Codable, Sendable {
    public var endpointID: String
    public var remoteID: String
    /// The desired file's name.
    public var file: String
    public var unifiedID: String
    /// SHA-256 of the content uploaded.
    public var digest: String
    public var bytes: Int64
    public var filename: String
    public var purpose: String
    /// Unix seconds, as the provider reported it.
    public var createdAt: Int64
    /// The policy in force when the file was last declared, so a removed declaration is handled as it asked.
    public var deletionPolicy: DeletionPolicy

    /// - Parameter unifiedID: `UnifiedID.make(for: file)` when the caller already has it (a file placed on three
    ///   endpoints has three owned rows); computed when nil.
    public init(
        endpointID: String, remoteID: String, file: String, digest: String, bytes: Int64, filename: String,
        purpose: String, createdAt: Int64, deletionPolicy: DeletionPolicy, unifiedID: String? = nil
    ) {
        self.endpointID = endpointID
        self.remoteID = remoteID
        self.file = file
        self.unifiedID = unifiedID ?? UnifiedID.make(for: file)
        self.digest = digest
        self.bytes = bytes
        self.filename = filename
        self.purpose = purpose
        self.createdAt = createdAt
        self.deletionPolicy = deletionPolicy
    }

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }

    /// The strings of a pass's desired state and listings, for owned files read from the state to share.
    ///
    /// A state store hands each record it reads to `share(_:)` before reading the next, so its own copies of a
    /// declared file's name, unified id, file name, purpose and digest, and of a listed file's id, are freed while
    /// their memory can still be taken by the next row: 300,000 owned files kept about 40 MB of such copies through
    /// a converged pass, and freed afterwards they stay resident as holes in the heap. Equal strings sharing one
    /// copy also compare at once.
    public struct SharedStrings: Sendable {
        private let files: [DesiredFile]
        private let byName: [String: Int]
        private let digests: [String: String]
        /// The match of the previous record: the stores return a file's rows together.
        private var previous: (index: Int, digest: String?)?
        /// Each listing with its positions by id (a few endpoints: a list), made once: copies of this value (one per
        /// thread sharing a part of the rows) use the same tables.
        private let listed: [(endpointID: String, index: ListingIndex)]
        /// Endpoint ids seen so far, each with its entry in `listed` (nil: not listed). There are few, and a store
        /// gives each id as one string for all its rows, so a record's id is found by identity, not by comparing
        /// its bytes with each listing's key.
        private var seenEndpoints: [(id: String, slot: Int?)] = []

        /// - Parameter listings: files listed by endpoint id (only their ids are shared).
        public init(desired: DesiredState, digests: [String: String], listings: [String: [RemoteFile]] = [:]) {
            files = desired.files
            var byName = [String: Int](minimumCapacity: files.count)
            for (index, file) in files.enumerated() { byName[file.name] = index }
            self.byName = byName
            self.digests = digests
            let endpoints = listings.keys.sorted()
            let indexes = Parallel.map(endpoints.count, minimum: 2, chunk: 1) { ListingIndex(listings[endpoints[$0]]!) }
            listed = Array(zip(endpoints, indexes))
        }

        /// Makes `record` refer to the desired state's and the listing's strings where they are equal (an undeclared
        /// or unlisted file keeps its own).
        public mutating func share(_ record: inout OwnedFile) {
            shareRemoteID(&record)
            shareDeclared(&record)
        }

        /// Makes `record`'s remote id the listing's string where its endpoint's listing has it. (Apart from
        /// `record(_:)`: the lookup is most of the work of a large read, which a store can do on other threads.)
        public mutating func shareRemoteID(_ record: inout OwnedFile) {
            guard !listed.isEmpty else { return }
            let slot: Int?
            if let seen = seenEndpoints.first(where: { $0.id == record.endpointID }) {
                slot = seen.slot
            } else {
                slot = remember(record.endpointID)
            }
            guard let slot, let position = listed[slot].index.position(of: record.remoteID) else { return }
            record.remoteID = listed[slot].index.files[position].id
        }

        /// Adds an endpoint id not seen before to `seenEndpoints`; its entry in `listed` (nil: not listed).
        @discardableResult
        private mutating func remember(_ endpointID: String) -> Int? {
            let slot = listed.firstIndex { $0.endpointID == endpointID }
            seenEndpoints.append((endpointID, slot))
            return slot
        }

        private mutating func shareDeclared(_ record: inout OwnedFile) {
            let name = record.file
            guard let match = declaredFile(isNamed: { $0 == name }, name: { name }) else { return }
            // Fields read in place: a copy of the declared file would retain and release all of its strings.
            let index = match.index
            record.file = files[index].name
            if record.unifiedID == files[index].unifiedID { record.unifiedID = files[index].unifiedID }
            if record.filename == files[index].filename { record.filename = files[index].filename }
            if record.purpose == files[index].purpose { record.purpose = files[index].purpose }
            if let digest = match.digest, record.digest == digest { record.digest = digest }
        }

        /// The declared file of a row (its index and its source's digest), nil when the row's name is not declared:
        /// the previous row's file, the next one in name order, or the one found by `name()`. The stores return rows
        /// in name order, like the desired files, so the next row's file is most often found by one comparison
        /// instead of a lookup by name.
        private mutating func declaredFile(isNamed: (String) -> Bool, name: () -> String) -> (index: Int, digest: String?)? {
            if let previous, isNamed(files[previous.index].name) { return previous }
            if let previous, previous.index + 1 < files.count, isNamed(files[previous.index + 1].name) {
                self.previous = (previous.index + 1, digests[files[previous.index + 1].sourcePath])
            } else {
                self.previous = byName[name()].map { ($0, digests[files[$0].sourcePath]) }
            }
            return self.previous
        }

        /// One owned row as a store reads it, its text columns as UTF-8 bytes (valid while the store's row is):
        /// `record(_:)` makes strings only of what differs from the pass's own.
        public struct Columns {
            public var endpointID: UnsafeBufferPointer<UInt8>
            public var remoteID: UnsafeBufferPointer<UInt8>
            public var file: UnsafeBufferPointer<UInt8>
            public var unifiedID: UnsafeBufferPointer<UInt8>
            public var digest: UnsafeBufferPointer<UInt8>
            public var filename: UnsafeBufferPointer<UInt8>
            public var purpose: UnsafeBufferPointer<UInt8>
            public var bytes: Int64
            public var createdAt: Int64
            public var deletionPolicy: DeletionPolicy

            public init(
                endpointID: UnsafeBufferPointer<UInt8>, remoteID: UnsafeBufferPointer<UInt8>,
                file: UnsafeBufferPointer<UInt8>, unifiedID: UnsafeBufferPointer<UInt8>,
                digest: UnsafeBufferPointer<UInt8>, filename: UnsafeBufferPointer<UInt8>,
                purpose: UnsafeBufferPointer<UInt8>, bytes: Int64, createdAt: Int64, deletionPolicy: DeletionPolicy
            ) {
                self.endpointID = endpointID
                self.remoteID = remoteID
                self.file = file
                self.unifiedID = unifiedID
                self.digest = digest
                self.filename = filename
                self.purpose = purpose
                self.bytes = bytes
                self.createdAt = createdAt
                self.deletionPolicy = deletionPolicy
            }
        }

        /// The record of one row: where a column's bytes are those of the pass's string (its declared file's name,
        /// unified id, file name, purpose and digest; an endpoint id seen before) the record takes that string and
        /// no copy is made; other columns become strings of their own. Equal to the record `share(_:)` gives for the
        /// same row, but a large read makes about a fifth of the strings. The remote id is left to
        /// `shareRemoteID(_:)`.
        public mutating func record(_ columns: Columns) -> OwnedFile {
            func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
            let endpointID: String
            if let seen = seenEndpoints.first(where: { Self.equal($0.id, columns.endpointID) }) {
                endpointID = seen.id
            } else {
                endpointID = text(columns.endpointID)
                remember(endpointID)
            }
            // A name made for the lookup is kept for an undeclared row's record.
            var name: String?
            let declared = declaredFile(isNamed: { Self.equal($0, columns.file) }) {
                name = text(columns.file)
                return name!
            }
            guard let match = declared else {
                return OwnedFile(
                    endpointID: endpointID, remoteID: text(columns.remoteID), file: name ?? text(columns.file),
                    digest: text(columns.digest), bytes: columns.bytes, filename: text(columns.filename),
                    purpose: text(columns.purpose), createdAt: columns.createdAt,
                    deletionPolicy: columns.deletionPolicy, unifiedID: text(columns.unifiedID))
            }
            func shared(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
                Self.equal(string, bytes) ? string : text(bytes)
            }
            let index = match.index
            let digest = match.digest.map { shared($0, columns.digest) } ?? text(columns.digest)
            return OwnedFile(
                endpointID: endpointID, remoteID: text(columns.remoteID), file: files[index].name, digest: digest,
                bytes: columns.bytes, filename: shared(files[index].filename, columns.filename),
                purpose: shared(files[index].purpose, columns.purpose), createdAt: columns.createdAt,
                deletionPolicy: columns.deletionPolicy, unifiedID: shared(files[index].unifiedID, columns.unifiedID))
        }

        /// Whether a string's UTF-8 bytes are `bytes` (a byte comparison: a string equal only by Unicode
        /// equivalence is made anew, which gives an equal record).
        static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard string.utf8.count == bytes.count else { return false }
            guard let start = bytes.baseAddress else { return true }
            // `memcmp`: a byte loop was a tenth of a large read's instructions.
            return string.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, start, bytes.count) == 0 }
                ?? string.utf8.elementsEqual(bytes)
        }
    }
}

/// A write-ahead record of an upload about to be sent. If the process dies before the answer is recorded,
/// a later run finds the upload in the listing and adopts it instead of uploading again.
public struct CreateIntent: Hashable, Codable, Sendable {
    public var id: Int64
    public var endpointID: String
    public var file: String
    public var digest: String
    public var bytes: Int64
    public var filename: String
    public var purpose: String
    /// Unix seconds when the upload was about to start.
    public var startedAt: Int64
    public var deletionPolicy: DeletionPolicy

    public init(
        id: Int64, endpointID: String, file: String, digest: String, bytes: Int64, filename: String, purpose: String,
        startedAt: Int64, deletionPolicy: DeletionPolicy = .delete
    ) {
        self.id = id
        self.endpointID = endpointID
        self.file = file
        self.digest = digest
        self.bytes = bytes
        self.filename = filename
        self.purpose = purpose
        self.startedAt = startedAt
        self.deletionPolicy = deletionPolicy
    }

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }
}
