import Foundation
import Hummingbird

/// Cloud Storage objects: list (prefix, delimiter, offsets, pages), get (metadata or media) and delete.
extension SimulatorRoutes {
    func listObjects(_ bucket: String, _ query: GCSQuery, _ request: Request) throws -> Response {
        try checkBucketName(bucket)
        let prefix = query["prefix"] ?? ""
        let delimiter = query.nonEmpty("delimiter")
        var maxResults = 1000
        if let raw = query["maxResults"] {
            guard let value = Int(raw), value > 0 else {
                throw GCSError.invalid("Invalid value for maxResults: '\(raw)'. It must be a positive integer.")
            }
            maxResults = min(value, 1000)
        }
        var after: String?
        if let token = query.nonEmpty("pageToken") {
            guard let bytes = Base64URL.decode(token), bytes.starts(with: Array("sim1:".utf8)),
                let last = String(validating: bytes.dropFirst(5), as: UTF8.self)
            else { throw GCSError.invalid("Invalid value for pageToken: '\(token)'.") }
            after = last
        }
        let plan = core.currentPlan()
        let startOffset = plan.gcsIgnoreOffsets ? nil : query.nonEmpty("startOffset")
        let endOffset = plan.gcsIgnoreOffsets ? nil : query.nonEmpty("endOffset")
        let selection = try fieldSelection(query)
        for key in ["prefix", "delimiter", "pageToken", "startOffset", "endOffset"] where query.malformed.contains(key) {
            throw GCSError.invalid("Invalid value for \(key): it is not valid percent-encoded UTF-8.")
        }
        let records = try core.gcsObjects(bucket: bucket)
        let lag = plan.listLagSeconds
        // A token naming no entry: the listing (re)starts at its first entry.
        let startToken = Base64URL.encode(Array("sim1:".utf8))
        if plan.gcsEmptyFirstPage, query.nonEmpty("pageToken") == nil {
            return jsonResponse(.object([("kind", .string("storage#objects")), ("nextPageToken", .string(startToken))]))
        }
        let now = SimulatorCore.now()

        // Entries in byte order: objects, and with a delimiter the "directories" they fold into. Only the page (and
        // one entry more, to know whether a next page exists) is built: names at or before the page token, below the
        // prefix or the start offset cannot give an entry of this page, so the walk starts after them (binary search).
        // Names sharing the prefix are contiguous in byte order, so the walk stops at the first one that does not.
        // The first index whose name is at or after `bound` (`inclusive`), or strictly after it.
        func lowerBound(_ bound: String, inclusive: Bool) -> Int {
            var low = 0
            var high = records.count
            while low < high {
                let mid = (low + high) / 2
                let name = records[mid].name
                if inclusive ? GCSName.precedes(name, bound) : !GCSName.precedes(bound, name) {
                    low = mid + 1
                } else {
                    high = mid
                }
            }
            return low
        }
        var first = prefix.isEmpty ? 0 : lowerBound(prefix, inclusive: true)
        if let startOffset { first = max(first, lowerBound(startOffset, inclusive: true)) }
        if let after { first = max(first, lowerBound(after, inclusive: false)) }
        var entries: [(key: String, record: GCSObjectRecord?)] = []
        var lastPrefix: String?
        let delimiterBytes = delimiter.map { Array($0.utf8) }
        var index = first
        while index < records.count, entries.count <= maxResults {
            let record = records[index]
            index += 1
            let name = record.name
            guard name.utf8.starts(with: prefix.utf8) else { break }
            if let endOffset, !GCSName.precedes(name, endOffset) { break }
            if lag > 0, now - record.created < lag { continue }
            var key = name
            var folded: GCSObjectRecord? = record
            if let delimiterBytes {
                let rest = Array(name.utf8.dropFirst(prefix.utf8.count))
                if let end = Self.firstRange(of: delimiterBytes, in: rest) {
                    key = String(decoding: Array(prefix.utf8) + rest[..<end], as: UTF8.self)
                    folded = nil
                    if key == lastPrefix { continue }
                    lastPrefix = key
                }
            }
            // A folded "directory" can sort at or before the token even when the name after it does not.
            if let after, !GCSName.precedes(after, key) { continue }
            entries.append((key, folded))
        }
        let page = entries.prefix(maxResults)
        var pairs: [(String, JSON)] = [("kind", .string("storage#objects"))]
        if plan.gcsStuckPageToken {
            pairs.append(("nextPageToken", .string(startToken)))
        } else if entries.count > page.count, let last = page.last {
            pairs.append(("nextPageToken", .string(Base64URL.encode(Array("sim1:".utf8) + Array(last.key.utf8)))))
        }
        let prefixes = page.filter { $0.record == nil }.map { JSON.string($0.key) }
        if !prefixes.isEmpty { pairs.append(("prefixes", .array(prefixes))) }
        // Only the keys a partial response selects are built (the selection is applied to the whole answer below).
        let itemSelection = selection.map { $0.fields["items"] ?? nil } ?? nil
        let items = page.compactMap { $0.record.map { objectResource($0, request, selection: itemSelection) } }
        if !items.isEmpty { pairs.append(("items", .array(items))) }
        return jsonResponse(selection?.apply(to: .object(pairs)) ?? .object(pairs))
    }

    /// The `fields` parameter (a partial response), nil when absent.
    func fieldSelection(_ query: GCSQuery) throws -> GCSFieldSelection? {
        guard let text = query.nonEmpty("fields") else { return nil }
        guard !query.malformed.contains("fields"), let selection = GCSFieldSelection(text) else {
            throw GCSError.invalid("Invalid field selection \(text)")
        }
        return selection
    }

    /// End index (exclusive) of the first occurrence of `needle` in `haystack`.
    static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return start + needle.count }
        }
        return nil
    }

    func getObject(_ bucket: String, _ name: String, _ query: GCSQuery, _ request: Request, media: Bool) throws
        -> Response
    {
        try checkBucketName(bucket)
        let record = try core.gcsObject(bucket: bucket, name: name)
        if let wanted = query.nonEmpty("generation"), Int64(wanted) != record.generation {
            throw GCSError.noSuchObject(bucket: bucket, name: name)
        }
        try GCSPreconditions(query).check(record)
        guard media else {
            let resource = objectResource(record, request)
            return jsonResponse(try fieldSelection(query)?.apply(to: resource) ?? resource)
        }
        guard let content = core.gcsContent(record) else { throw GCSError.noSuchObject(bucket: bucket, name: name) }
        core.countBytes(downloaded: record.size)
        let headers: HTTPFields = [
            .contentType: record.contentType,
            .contentLength: String(record.size),
            .googGeneration: String(record.generation),
            .googMetageneration: String(record.metageneration),
            .googHash: "crc32c=\(record.crc32c),md5=\(record.md5Hash)",
            .googStoredContentLength: String(record.size),
        ]
        return Response(status: .ok, headers: headers, body: ContentReader.responseBody(content, length: record.size))
    }

    func deleteObject(_ bucket: String, _ name: String, _ query: GCSQuery) throws -> Response {
        try checkBucketName(bucket)
        var generation: Int64?
        if let raw = query.nonEmpty("generation") {
            guard let value = Int64(raw) else { throw GCSError.invalid("Invalid value for generation: '\(raw)'.") }
            generation = value
        }
        try core.deleteGCSObject(
            bucket: bucket, name: name, generation: generation, preconditions: try GCSPreconditions(query))
        return Response(status: .noContent)
    }
}
