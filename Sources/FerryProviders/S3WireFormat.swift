import FerryCore
import Foundation

/// The little XML S3 speaks to Ferry: ListObjectsV2 results, CreateMultipartUpload and CompleteMultipartUpload
/// answers and `<Error>` bodies. These are flat documents of known elements without attributes Ferry needs, so a
/// small scanner reads them (no libxml2 dependency on Linux); entities and character references are decoded,
/// and a namespace prefix on element names is accepted (LiteLLM matches `{*}Key` the same way).
enum S3XML {
    /// The decoded text of every `<name>…</name>` element in `xml`, in document order.
    static func texts(_ name: String, in xml: Substring) -> [String] {
        elements(name, in: xml).map { decode($0) }
    }

    /// The text of the first `<name>` element, or nil.
    static func text(_ name: String, in xml: Substring) -> String? {
        elements(name, in: xml).first.map { decode($0) }
    }

    /// The raw (undecoded) contents of every `<name>…</name>` element, in document order. Nested elements of the
    /// same name are not expected in S3's answers.
    static func elements(_ name: String, in xml: Substring) -> [Substring] {
        var found: [Substring] = []
        var rest = xml
        while let open = rest.range(of: "<") {
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstIndex(of: ">") else { break }
            var tag = afterOpen[..<close]
            rest = afterOpen[afterOpen.index(after: close)...]
            if tag.hasPrefix("/") || tag.hasPrefix("?") || tag.hasPrefix("!") { continue }
            let selfClosing = tag.hasSuffix("/")
            if selfClosing { tag = tag.dropLast() }
            let tagName = tag.prefix { !$0.isWhitespace }
            guard localName(tagName) == name else { continue }
            if selfClosing {
                found.append(rest[rest.startIndex..<rest.startIndex])
                continue
            }
            // The matching end tag (with the same prefix, if any).
            let end = "</\(tagName)>"
            guard let endRange = rest.range(of: end) else { break }
            found.append(rest[..<endRange.lowerBound])
            rest = rest[endRange.upperBound...]
        }
        return found
    }

    private static func localName(_ name: Substring) -> Substring {
        name.lastIndex(of: ":").map { name[name.index(after: $0)...] } ?? name
    }

    /// Decodes `&amp; &lt; &gt; &quot; &apos;` and numeric character references.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var output = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            output += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semicolon = after.firstIndex(of: ";"), after.distance(from: after.startIndex, to: semicolon) <= 10
            else {
                output += "&"
                rest = after
                continue
            }
            let entity = after[..<semicolon]
            var replacement: String?
            switch entity {
            case "amp": replacement = "&"
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    replacement = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
                } else if entity.hasPrefix("#") {
                    replacement = UInt32(entity.dropFirst(1)).flatMap(Unicode.Scalar.init).map { String($0) }
                }
            }
            if let replacement {
                output += replacement
                rest = after[after.index(after: semicolon)...]
            } else {
                output += "&"
                rest = after
            }
        }
        return output + rest
    }

    /// Escapes text for an element's content.
    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            default: output.append(character)
            }
        }
        return output
    }
}

/// One page of `GET /{bucket}?list-type=2`: `<ListBucketResult>` with `<Contents>` and the continuation token.
struct S3ObjectPage: Sendable {
    struct Object: Sendable, Hashable {
        var key: String
        var size: Int64
        /// Unix seconds, from `LastModified`.
        var lastModified: Int64
    }

    var objects: [Object]
    var isTruncated: Bool
    var nextContinuationToken: String?

    /// - Throws: a description of what is wrong when the body is not a `ListBucketResult`.
    init(xml: String) throws(S3WireError) {
        let document = Substring(xml)
        guard let result = S3XML.elements("ListBucketResult", in: document).first else {
            throw S3WireError("the listing is not a ListBucketResult")
        }
        var objects: [Object] = []
        for contents in S3XML.elements("Contents", in: result) {
            guard let key = S3XML.text("Key", in: contents) else { throw S3WireError("a <Contents> has no <Key>") }
            guard let size = S3XML.text("Size", in: contents).flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) })
            else { throw S3WireError("<Contents> of \(key) has no numeric <Size>") }
            let modified = S3XML.text("LastModified", in: contents).flatMap(RFC3339.parse) ?? 0
            objects.append(Object(key: key, size: size, lastModified: modified))
        }
        self.objects = objects
        // <IsTruncated> of the result itself (no <Contents> holds one).
        self.isTruncated = S3XML.text("IsTruncated", in: result)?.trimmingCharacters(in: .whitespaces) == "true"
        self.nextContinuationToken = S3XML.text("NextContinuationToken", in: result).flatMap { $0.isEmpty ? nil : $0 }
        if isTruncated, nextContinuationToken == nil {
            throw S3WireError("a truncated listing has no <NextContinuationToken>")
        }
    }
}

/// An S3 answer Ferry cannot read.
struct S3WireError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where Ferry keeps files in a bucket, and how object keys map to files and back.
///
/// Keys are `{prefix}{purpose}/{sha256}-{unique}/{filename}`: a listing alone gives the purpose, the file name
/// and the SHA-256 of the content Ferry uploaded (ListObjectsV2 returns no user metadata, so the key carries it;
/// the object's `x-amz-meta-ferry-sha256` and `x-amz-meta-ferry-name` say it again for a HEAD). No two uploads
/// share a key, so a replacement never overwrites the file it replaces, and repeating a PUT can only store the
/// same bytes under the same key again.
struct S3Layout: Sendable, Hashable {
    let bucket: String
    /// Empty, or ends with `/`.
    let prefix: String

    /// Splits an endpoint's `bucket` setting, `name` or `name/some/prefix`.
    init?(bucketSetting: String) {
        var setting = Substring(bucketSetting)
        if setting.hasPrefix("s3://") { setting = setting.dropFirst(5) }
        let parts = setting.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty else { return nil }
        self.bucket = String(name)
        let rest = parts.count > 1 ? parts[1].split(separator: "/").joined(separator: "/") : ""
        self.prefix = rest.isEmpty ? "" : rest + "/"
    }

    /// A fresh key for an upload; `sha256` (64 hex digits) is left out when unknown.
    func key(purpose: String, filename: String, sha256: String?, unique: String) -> String {
        let middle = sha256.map { "\($0)-\(unique)" } ?? unique
        return prefix + Self.segment(purpose) + "/" + middle + "/" + Self.segment(filename)
    }

    /// `s3://bucket/key`, the id LiteLLM's bedrock files and Bedrock batch jobs use.
    func fileID(key: String) -> String { "s3://\(bucket)/\(key)" }

    /// The bucket and key of an `s3://` id.
    static func parse(fileID: String) -> (bucket: String, key: String)? {
        guard fileID.hasPrefix("s3://") else { return nil }
        let parts = fileID.dropFirst(5).split(separator: "/", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// The file a listed object stands for. Keys not made by Ferry keep their whole relative key as file name.
    func remoteFile(_ object: S3ObjectPage.Object) -> RemoteFile {
        remoteFile(key: object.key, bytes: object.size, createdAt: object.lastModified)
    }

    func remoteFile(key: String, bytes: Int64, createdAt: Int64, metadata: [String: String] = [:]) -> RemoteFile {
        let relative = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
        let parts = relative.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        var purpose = ""
        var filename = relative
        var sha256: String?
        if parts.count == 3 {
            purpose = String(parts[0])
            filename = String(parts[2])
            let middle = parts[1]
            if let dash = middle.firstIndex(of: "-"), middle.distance(from: middle.startIndex, to: dash) == 64,
                middle[..<dash].allSatisfy(\.isHexDigit)
            {
                sha256 = String(middle[..<dash]).lowercased()
            }
        }
        return RemoteFile(
            id: fileID(key: key), filename: filename, bytes: bytes, purpose: purpose, createdAt: createdAt,
            status: .processed, sha256: metadata[RemoteFile.sha256Key] ?? sha256,
            declaredName: metadata[RemoteFile.declaredNameKey])
    }

    /// One key segment: `/` would add a level, control characters break XML listings.
    private static func segment(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.map { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F ? "_" : Character($0) })
        return cleaned.isEmpty ? "_" : cleaned
    }
}

/// Ferry's user metadata on S3 objects: `x-amz-meta-ferry-name` (percent-encoded, since header values must be
/// ASCII and S3 mangles others) and `x-amz-meta-ferry-sha256`.
enum S3Metadata {
    static let headerPrefix = "x-amz-meta-"

    /// The headers for `metadata` (keys as in `UploadRequest.metadata`).
    static func headers(_ metadata: [String: String]) -> [(String, String)] {
        metadata.sorted { $0.key < $1.key }.map { (headerPrefix + $0.key, S3Path.encode($0.value, keepSlash: true)) }
    }

    /// Ferry's metadata from a HEAD answer's headers.
    static func read(_ headers: [(String, String)]) -> [String: String] {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix(headerPrefix) {
            let key = String(name.lowercased().dropFirst(headerPrefix.count))
            metadata[key] = value.removingPercentEncoding ?? value
        }
        return metadata
    }
}
