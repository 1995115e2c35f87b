import FerryCore
import Foundation

/// A Cloud Storage object resource (`name, bucket, size, timeCreated, generation, md5Hash, crc32c, …`), read
/// tolerantly: `size` and `generation` are strings on the wire (int64 as JSON strings).
struct GCSObject: Decodable, Sendable {
    var name: String
    var bucket: String?
    var size: Int64?
    var timeCreated: String?
    var generation: String?
    /// Custom metadata (`ferry-name`, `ferry-sha256` on objects Ferry uploaded).
    var metadata: [String: String]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.name = try container.decode(String.self, forKey: "name")
        self.bucket = container.lenientString("bucket")
        self.size = container.lenientInt64("size")
        self.timeCreated = container.lenientString("timeCreated")
        self.generation = container.lenientString("generation")
        self.metadata = try? container.decodeIfPresent([String: String].self, forKey: "metadata")
    }
}

/// `GET /storage/v1/b/{bucket}/o`: `{kind, items, nextPageToken, prefixes}`. An empty bucket has no `items`.
struct GCSObjectList: Decodable, Sendable {
    var items: [GCSObject]
    var nextPageToken: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.items = try container.decodeIfPresent([GCSObject].self, forKey: "items") ?? []
        self.nextPageToken = container.lenientString("nextPageToken").flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Where Ferry keeps files in a bucket, and how object names map to files and back.
///
/// Objects are named `{prefix}{purpose}/{unique}/{filename}`: a listing alone gives the purpose and the file
/// name, no two uploads share a name (so a replacement never overwrites the file it replaces), and everything
/// under the prefix is easy to recognise as Ferry's.
struct GCSLayout: Sendable, Hashable {
    let bucket: String
    /// Empty, or ends with `/`.
    let prefix: String

    /// Splits an endpoint's `bucket` setting, `name` or `name/some/prefix`.
    init?(bucketSetting: String) {
        var setting = Substring(bucketSetting)
        if setting.hasPrefix("gs://") { setting = setting.dropFirst(5) }
        let parts = setting.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty else { return nil }
        self.bucket = String(name)
        let rest = parts.count > 1 ? parts[1].trimmingSlashes : ""
        self.prefix = rest.isEmpty ? "" : rest + "/"
    }

    /// A fresh object name for an upload.
    func objectName(purpose: String, filename: String, unique: String) -> String {
        prefix + Self.segment(purpose) + "/" + unique + "/" + Self.segment(filename)
    }

    /// `gs://bucket/object`, the id a Vertex AI model uses.
    func fileID(objectName: String, bucket: String? = nil) -> String {
        "gs://\(bucket ?? self.bucket)/\(objectName)"
    }

    /// The object name of a `gs://` id in this endpoint's bucket; nil for another bucket or another kind of id.
    func objectName(fileID: String) -> String? {
        guard let (bucket, object) = Self.parse(fileID: fileID), bucket == self.bucket else { return nil }
        return object
    }

    /// The bucket and object name of a `gs://` id.
    static func parse(fileID: String) -> (bucket: String, object: String)? {
        guard fileID.hasPrefix("gs://") else { return nil }
        let parts = fileID.dropFirst(5).split(separator: "/", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// The file an object stands for. Objects not named by Ferry keep their whole relative name as file name.
    func remoteFile(_ object: GCSObject) -> RemoteFile {
        let relative = object.name.hasPrefix(prefix) ? String(object.name.dropFirst(prefix.count)) : object.name
        let parts = relative.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        let (purpose, filename) = parts.count == 3 ? (String(parts[0]), String(parts[2])) : ("", relative)
        return RemoteFile(
            id: fileID(objectName: object.name, bucket: object.bucket),
            filename: filename,
            bytes: object.size ?? 0,
            purpose: purpose,
            createdAt: object.timeCreated.flatMap(RFC3339.parse) ?? 0,
            status: .processed,
            sha256: object.metadata?[RemoteFile.sha256Key],
            declaredName: object.metadata?[RemoteFile.declaredNameKey]
        )
    }

    /// One path segment: `/` would add a level, control characters are unwelcome in object names.
    private static func segment(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.map { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F ? "_" : Character($0) }
        )
        return cleaned.isEmpty ? "_" : cleaned
    }
}

extension Substring {
    fileprivate var trimmingSlashes: String {
        String(self.drop(while: { $0 == "/" }).reversed().drop(while: { $0 == "/" }).reversed())
    }
}

/// RFC 3339 timestamps (`2024-05-01T12:34:56.789Z`, `…+02:00`) to Unix seconds.
enum RFC3339 {
    static func parse(_ text: String) -> Int64? {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard scalars.count >= 20, scalars[4] == UInt8(ascii: "-"), scalars[7] == UInt8(ascii: "-"),
            scalars[10] == UInt8(ascii: "T") || scalars[10] == UInt8(ascii: "t"), scalars[13] == UInt8(ascii: ":"),
            scalars[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
            index += 1
            while index < scalars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scalars[index]) {
                index += 1
            }
        }
        guard index < scalars.count else { return nil }
        var offset = 0
        switch scalars[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == scalars.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == scalars.count, scalars[index + 3] == UInt8(ascii: ":"),
                let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (scalars[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        let days = HTTPDate.daysSinceEpoch(year: year, month: month, day: day)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
    }
}

/// The JSON resource sent with a multipart or resumable upload: the object's name, content type and Ferry's
/// custom metadata.
struct GCSUploadMetadata: Encodable {
    var name: String
    var contentType: String
    var metadata: [String: String]?

    /// Encoded with sorted keys, for a stable request body.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}

/// Ranges of object names for listing one prefix in parts at once (`startOffset` inclusive, `endOffset` exclusive).
/// Cloud Storage compares names as UTF-8 bytes, and so does everything here.
enum GCSNameRanges {
    /// A bounded listing returned an object outside its bounds: the server ignores them.
    struct Ignored: Error {}

    /// Remembers, for one client, that its server ignores the bounds.
    final class Support: @unchecked Sendable {
        private let lock = NSLock()
        private var wasIgnored = false

        var ignored: Bool { lock.withLock { wasIgnored } }
        func markIgnored() { lock.withLock { wasIgnored = true } }
    }

    /// The names to cut at: those under `prefix` (a cut elsewhere would only add an empty range), in byte order,
    /// each once.
    static func cuts(objectNames: [String], prefix: String) -> [String] {
        var cuts = objectNames.filter { $0.utf8.count > prefix.utf8.count && $0.utf8.starts(with: prefix.utf8) }
        cuts.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var unique: [String] = []
        for cut in cuts where unique.last.map({ !$0.utf8.elementsEqual(cut.utf8) }) ?? true { unique.append(cut) }
        return unique
    }

    /// The ranges between sorted cuts, from the start of the prefix to its end: `[nil, c1)`, `[c1, c2)`, …
    /// `[cN, nil)`. Together they hold every name once.
    static func bounds(_ cuts: [String]) -> [(start: String?, end: String?)] {
        let cuts = cuts.map(Optional.some)
        return zip([nil] + cuts, cuts + [nil]).map { (start: $0, end: $1) }
    }

    /// Whether `name` is at or after `start` and before `end`, by bytes.
    static func contains(_ name: String, from start: String?, to end: String?) -> Bool {
        if let start, name.utf8.lexicographicallyPrecedes(start.utf8) { return false }
        if let end, !name.utf8.lexicographicallyPrecedes(end.utf8) { return false }
        return true
    }
}
