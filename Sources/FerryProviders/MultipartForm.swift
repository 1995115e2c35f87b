/// The `multipart/form-data` framing of one upload: the `purpose` field, then the `file` part streamed from disk.
/// Everything but the file's bytes is built up front, so the `Content-Length` is known before sending.
struct MultipartForm: Sendable, Hashable {
    let boundary: String
    /// Everything before the file's first byte.
    let preamble: [UInt8]
    /// Everything after the file's last byte.
    let epilogue: [UInt8]

    /// The request's `Content-Type` header value.
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// - Parameters:
    ///   - fields: plain text fields sent before the file, in order (`purpose`).
    ///   - fileField: the form name of the file part (`file` for Files, `data` for Upload parts).
    ///   - filename: the name shown by the provider; escaped for the header, never trusted.
    ///   - boundary: a random token (tests pass a fixed one).
    init(
        fields: [(name: String, value: String)], fileField: String, filename: String,
        fileContentType: String = "application/octet-stream", boundary: String = MultipartForm.randomBoundary()
    ) {
        self.boundary = boundary
        var head = ""
        for field in fields {
            head += "--\(boundary)\r\n"
            head += "Content-Disposition: form-data; name=\(Self.quoted(field.name))\r\n\r\n"
            head += Self.stripLineBreaks(field.value) + "\r\n"
        }
        head += "--\(boundary)\r\n"
        head += "Content-Disposition: form-data; name=\(Self.quoted(fileField))"
        let quotedName = Self.quoted(filename)
        head += "; filename=\(quotedName)"
        // When the plain form is not the name verbatim (non-ASCII, or characters that had to be escaped),
        // also send the exact name as an RFC 8187 extended value; servers that understand it prefer it.
        if quotedName != "\"\(filename)\"" || filename.unicodeScalars.contains(where: { !$0.isASCII }) {
            head += "; filename*=\(Self.extendedValue(filename))"
        }
        head += "\r\nContent-Type: \(fileContentType)\r\n\r\n"
        self.preamble = Array(head.utf8)
        self.epilogue = Array("\r\n--\(boundary)--\r\n".utf8)
    }

    /// The exact body length for a file of `fileBytes` bytes.
    func contentLength(fileBytes: Int64) -> Int64 {
        Int64(preamble.count) + fileBytes + Int64(epilogue.count)
    }

    static func randomBoundary() -> String { "ferry-" + .randomHex(words: 4) }

    /// A quoted form parameter, escaped the way browsers and the OpenAI SDK's HTTP library (httpx) do it:
    /// `"` becomes `%22`, `\` is doubled, and control characters (CR and LF among them) become `%XX`, so a name
    /// can never end the quoted string, the header line or the part. Other UTF-8 passes through unchanged.
    static func quoted(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "%22"
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "%" + hexByte(UInt8(scalar.value))
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// An RFC 8187 extended value, `UTF-8''` followed by percent-encoded UTF-8, for servers that prefer it.
    static func extendedValue(_ value: String) -> String {
        var result = "UTF-8''"
        for byte in value.utf8 {
            if isAttributeCharacter(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + hexByte(byte)
            }
        }
        return result
    }

    /// `attr-char` of RFC 8187: letters, digits and ``!#$&+-.^_`|~``.
    private static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$&+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// A field value cannot contain a line break without ending the part early.
    private static func stripLineBreaks(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init))
    }
}
