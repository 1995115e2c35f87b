import Foundation
import Hummingbird

// Google Cloud Storage (JSON API) flavor: the state it keeps and small wire-format helpers.

/// How requests to the Cloud Storage routes must authenticate.
public enum GCSAuthentication: String, Sendable, Codable, CaseIterable {
    /// `Authorization: Bearer` with a token this simulator issued (`POST /token`, or
    /// `Simulator.issueAccessToken()`) that has not expired. The default.
    case issuedTokens
    /// Any non-empty bearer token (a `gcloud auth print-access-token` stand-in).
    case anyBearerToken
    /// No credentials needed at all, like storage emulators reached through `STORAGE_EMULATOR_HOST`.
    case anonymous
}

/// Metadata of one stored object; persisted as `g<generation>.json` next to `g<generation>.bin`.
struct GCSObjectRecord: Codable, Sendable {
    var bucket: String
    var name: String
    var generation: Int64
    var metageneration: Int64
    var contentType: String
    var size: Int64
    /// Base64 of the MD5 digest.
    var md5Hash: String
    /// Base64 of the big-endian CRC32C.
    var crc32c: String
    /// Creation time, Unix seconds with sub-second precision.
    var created: Double
    var metadata: [String: String]?
    /// Lowercase hex SHA-256, computed when first asked for (inspection only).
    var sha256: String?

    var key: String { GCSName.key(name) }
    var fileStem: String { "g\(generation)" }
}

struct GCSBucketState: Sendable {
    var created: Double
    var metageneration: Int64 = 1
    /// Objects by `GCSName.key(name)` (byte-exact, unlike `String` equality). Any change drops `sorted`.
    var objects: [String: GCSObjectRecord] = [:] {
        didSet { sorted = nil }
    }
    /// `objects` in listing order (UTF-8 byte order of the names), built by the first listing after a change, so a
    /// listing page costs a binary search plus the page instead of a sort of the whole bucket.
    var sorted: [GCSObjectRecord]?
    /// Object bytes when there is no storage directory, by the same key.
    var contents: [String: StoredContent] = [:]
}

/// `ifGenerationMatch` and friends.
struct GCSPreconditions: Sendable {
    var ifGenerationMatch: Int64?
    var ifGenerationNotMatch: Int64?
    var ifMetagenerationMatch: Int64?
    var ifMetagenerationNotMatch: Int64?

    init(_ query: GCSQuery) throws {
        func number(_ name: String) throws -> Int64? {
            guard let raw = query[name] else { return nil }
            guard let value = Int64(raw), value >= 0 else {
                throw GCSError.invalid("Invalid value for \(name): \(raw)")
            }
            return value
        }
        ifGenerationMatch = try number("ifGenerationMatch")
        ifGenerationNotMatch = try number("ifGenerationNotMatch")
        ifMetagenerationMatch = try number("ifMetagenerationMatch")
        ifMetagenerationNotMatch = try number("ifMetagenerationNotMatch")
    }

    /// Throws 412 unless the current live object (nil: none) satisfies every condition.
    /// Generation 0 means "no live object".
    func check(_ current: GCSObjectRecord?) throws {
        let generation = current?.generation ?? 0
        if let expected = ifGenerationMatch, expected != generation { throw GCSError.preconditionFailed }
        if let excluded = ifGenerationNotMatch, excluded == generation { throw GCSError.preconditionFailed }
        if let expected = ifMetagenerationMatch, current?.metageneration != expected {
            throw GCSError.preconditionFailed
        }
        if let excluded = ifMetagenerationNotMatch, let current, current.metageneration == excluded {
            throw GCSError.preconditionFailed
        }
    }
}

/// A resumable upload session (kept in memory only, like the OpenAI uploads).
struct GCSSession: Sendable {
    enum State: Sendable {
        case active
        /// A request is writing to it right now.
        case busy
        case complete(GCSObjectRecord)
        case cancelled
        /// Finalizing failed for good (a precondition); every later request gets this error.
        case failed(GCSError)
    }

    let id: String
    let bucket: String
    let name: String
    let contentType: String
    let metadata: [String: String]?
    /// `X-Upload-Content-Length`, when the client declared it.
    let declaredTotal: Int64?
    let preconditions: GCSPreconditions
    /// Bytes kept so far (a multiple of `GCSRoutes.chunkGranularity` until the session completes).
    var persisted: Int64 = 0
    /// Where the bytes go: a file under `<storage>/tmp`, or memory.
    var path: String?
    var buffer: ByteBuffer?
    var state: State = .active
}

struct GCSIssuedToken: Sendable {
    var expires: Double
    var scopes: [String]

    static let readScopes: Set<String> = [
        "https://www.googleapis.com/auth/devstorage.read_only",
        "https://www.googleapis.com/auth/devstorage.read_write",
        "https://www.googleapis.com/auth/devstorage.full_control",
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/cloud-platform.read-only",
    ]
    static let writeScopes: Set<String> = [
        "https://www.googleapis.com/auth/devstorage.read_write",
        "https://www.googleapis.com/auth/devstorage.full_control",
        "https://www.googleapis.com/auth/cloud-platform",
    ]

    func allows(write: Bool) -> Bool {
        let wanted = write ? GCSIssuedToken.writeScopes : GCSIssuedToken.readScopes
        return scopes.contains { wanted.contains($0) }
    }
}

struct GCSState: Sendable {
    var buckets: [String: GCSBucketState] = [:]
    var sessions: [String: GCSSession] = [:]
    /// Issued access tokens by the SHA-256 of the token (tokens themselves are not kept).
    var tokens: [String: GCSIssuedToken] = [:]
    /// Public keys registered with `Simulator.registerServiceAccount`, by `client_email`.
    var serviceAccounts: [String: ServiceAccountPublicKey] = [:]
    var lastGeneration: Int64 = 0
}

// MARK: Names, query strings, time

enum GCSName {
    private static let unreserved: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Percent-encodes every byte but the RFC 3986 unreserved ones (so `/` becomes `%2F`).
    static func encode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved[Int(byte)] {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A dictionary key that tells apart names `String` equality would merge (canonically equivalent
    /// Unicode): Cloud Storage compares names byte by byte.
    static func key(_ name: String) -> String { encode(name) }

    /// Decodes `%XX` escapes (and `+` as a space when `plusIsSpace`); nil for bad escapes or bad UTF-8.
    static func decode<S: Sequence<UInt8>>(_ raw: S, plusIsSpace: Bool) -> String? {
        var out: [UInt8] = []
        var iterator = raw.makeIterator()
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else {
                    return nil
                }
                out.append(high << 4 | low)
            } else if plusIsSpace, byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Byte-wise (UTF-8) order, the order of Cloud Storage listings.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Object names: 1–1024 bytes of UTF-8, no CR or LF, not `.` or `..`.
    static func validationError(_ name: String) -> String? {
        if name.isEmpty { return "Object name is required." }
        if name.utf8.count > 1024 { return "The object name is too long: at most 1024 bytes of UTF-8 are allowed." }
        if name.utf8.contains(13) || name.utf8.contains(10) {
            return "Object names cannot contain carriage return or line feed characters."
        }
        if name == "." || name == ".." { return "Object names cannot be '.' or '..'." }
        return nil
    }

    /// Bucket names: 3–63 characters (up to 222 with dots) of `a-z 0-9 - _ .`, starting and ending with a
    /// letter or digit.
    static func isValidBucket(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        let limit = bytes.contains(UInt8(ascii: ".")) ? 222 : 63
        guard (3...limit).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }
}

/// A parsed query string (or form body): keys and values percent-decoded, `+` read as a space, the first
/// value of a repeated key wins. Keys whose value is not valid UTF-8 are listed in `malformed`.
struct GCSQuery: Sendable {
    private var values: [String: String] = [:]
    private(set) var malformed: Set<String> = []

    init(_ raw: String?) {
        guard let raw, !raw.isEmpty else { return }
        for pair in raw.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = GCSName.decode(parts[0], plusIsSpace: true), !key.isEmpty else { continue }
            let value = parts.count > 1 ? GCSName.decode(parts[1], plusIsSpace: true) : ""
            guard values[key] == nil, !malformed.contains(key) else { continue }
            if let value { values[key] = value } else { malformed.insert(key) }
        }
    }

    subscript(_ key: String) -> String? { values[key] }

    /// The value, or nil when absent or empty.
    func nonEmpty(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }
}

enum GCSTime {
    private static let format = Date.ISO8601FormatStyle(
        includingFractionalSeconds: true, timeZone: TimeZone(secondsFromGMT: 0)!)

    /// RFC 3339 in UTC with milliseconds, e.g. `2024-05-01T12:00:00.250Z`.
    static func rfc3339(_ seconds: Double) -> String {
        // Whole milliseconds, rounded down. A quarter millisecond more keeps the binary fraction from falling just
        // below the millisecond it names, whether the formatter truncates or rounds.
        let millis = (seconds * 1000).rounded(.down)
        return Date(timeIntervalSince1970: (millis + 0.25) / 1000).formatted(format)
    }
}

enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes unpadded (or padded) base64url; nil for anything else.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard text.utf8.allSatisfy({ byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "=")
        })
        else { return nil }
        var base64 = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 = base64.replacingOccurrences(of: "=", with: "")
        if base64.count % 4 == 1 { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
