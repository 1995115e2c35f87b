import FerryCore
import Foundation

/// Gemini's `File` (`name, displayName, mimeType, sizeBytes, createTime, updateTime, expirationTime, sha256Hash,
/// uri, state, source, error`), read tolerantly: only `name` is required. Gemini keeps no purpose and no metadata
/// map; `displayName` carries the file name Ferry uploaded it under, and `sha256Hash` (base64) its content.
struct GeminiFile: Decodable, Sendable {
    var name: String
    var displayName: String?
    var sizeBytes: Int64?
    var createTime: String?
    var expirationTime: String?
    var sha256Hash: String?
    var state: String?
    var errorMessage: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.name = try container.decode(String.self, forKey: "name")
        self.displayName = container.lenientString("displayName")
        // int64 fields are strings in proto JSON.
        self.sizeBytes = container.lenientInt64("sizeBytes")
        self.createTime = container.lenientString("createTime")
        self.expirationTime = container.lenientString("expirationTime")
        self.sha256Hash = container.lenientString("sha256Hash")
        self.state = container.lenientString("state")
        if let error = try? container.nestedContainer(keyedBy: AnyCodingKey.self, forKey: "error") {
            self.errorMessage = error.lenientString("message")
        }
    }

    /// Readiness: `PROCESSING` is pending, `ACTIVE` processed, `FAILED` an error (with `error.message` as the
    /// reason); a state Ferry does not know is `unknown`, a missing one processed.
    var status: RemoteFileStatus {
        switch state {
        case nil: return .processed
        case "PROCESSING": return .pending
        case "ACTIVE": return .processed
        case "FAILED": return .error
        default: return .unknown
        }
    }

    /// The file as Ferry records it: its id is the resource name (`files/abc123`), no purpose (Gemini keeps
    /// none); `fallback` fills what the provider left out (the upload's own values).
    func remoteFile(fallback: UploadRequest? = nil) -> RemoteFile {
        RemoteFile(
            id: name,
            filename: displayName ?? fallback?.filename ?? "",
            bytes: sizeBytes ?? fallback?.bytes ?? 0,
            purpose: "",
            createdAt: createTime.flatMap(GeminiTimestamp.unixSeconds) ?? 0,
            status: status,
            statusDetails: status == .error ? (errorMessage ?? "the provider reports the file as FAILED") : nil,
            sha256: sha256Hash.flatMap(GeminiDigest.hex(base64:)),
            expiresAt: expirationTime.flatMap(GeminiTimestamp.unixSeconds)
        )
    }
}

/// `{"file": File}`: what the resumable upload's final chunk (and a query of a finished session) answers.
struct GeminiFileEnvelope: Decodable, Sendable {
    var file: GeminiFile
}

/// One page of `GET /v1beta/files`: `{files, nextPageToken}`; both may be missing (an empty project answers `{}`).
struct GeminiFileList: Decodable, Sendable {
    var files: [GeminiFile]
    var nextPageToken: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.files = try container.decodeIfPresent([GeminiFile].self, forKey: "files") ?? []
        self.nextPageToken = container.lenientString("nextPageToken").flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// RFC 3339 timestamps as Google writes them: UTC, with 0, 3, 6 or 9 fractional digits.
enum GeminiTimestamp {
    static func unixSeconds(_ text: String) -> Int64? {
        // Foundation's parser takes at most millisecond fractions: cut longer ones (whole seconds are kept).
        var trimmed = text
        if let dot = text.firstIndex(of: "."),
            let end = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" })
        {
            let digits = text[text.index(after: dot)..<end]
            trimmed = String(text[..<dot]) + "." + String((digits + "000").prefix(3)) + String(text[end...])
        }
        return AnthropicTimestamp.unixSeconds(trimmed)
    }
}

/// `sha256Hash` is base64 of the raw digest; Ferry compares hex.
enum GeminiDigest {
    static func hex(base64: String) -> String? {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        return data.map { String(format: "%02x", $0) }.joined()
    }
}
