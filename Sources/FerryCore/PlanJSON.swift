import Foundation

/// The stable plan JSON (`Plan.jsonEncoder`: sorted keys, pretty printed, slashes as they are) with the placements
/// written here instead of by `JSONEncoder`. A plan of 10,000 files on 3 endpoints carries 30,000 placements, which
/// `JSONEncoder` takes about 0.4 s to write; this writer gives the same bytes in a small part of that. Everything
/// else in the document still goes through `JSONEncoder`, with the placements left empty and put in afterwards.
/// `PlanJSONTests` holds the bytes equal to `JSONEncoder`'s for every field and for text that needs escaping.
public enum PlanJSON {
    /// The document `encodeDocument` encodes with `Plan.jsonEncoder`, byte for byte, with the placements written here.
    /// - Parameters:
    ///   - placements: the plan's placements.
    ///   - depth: how deep the plan object sits in the document (0: it is the document; 1: a member of it).
    ///   - encodeDocument: encodes the document with the plan's placements replaced by the ones given.
    public static func encode(
        placements: [PlacementStatus], depth: Int, _ encodeDocument: ([PlacementStatus]) throws -> Data
    ) throws -> Data {
        let rest = try encodeDocument([])
        guard !placements.isEmpty else { return rest }
        let member = String(repeating: "  ", count: depth + 1)
        let marker = Data("\n\(member)\"placements\" : [\n\n\(member)]".utf8)
        // The plan's own empty `placements` member, at its indentation: exactly one is expected. Anything else
        // (a future layout) falls back to the plain encoder rather than guessing.
        guard let found = rest.range(of: marker), rest.range(of: marker, in: found.upperBound..<rest.endIndex) == nil
        else {
            return try encodeDocument(placements)
        }
        var out = [UInt8]()
        out.reserveCapacity(rest.count + placements.count * 400)
        out.append(contentsOf: rest[rest.startIndex..<found.lowerBound])
        out.append(contentsOf: "\n\(member)\"placements\" : [\n".utf8)
        let element = [UInt8](String(repeating: "  ", count: depth + 2).utf8)
        let field = element + [UInt8]("  ".utf8)
        for (index, placement) in placements.enumerated() {
            if index > 0 { out.append(contentsOf: ",\n".utf8) }
            write(placement, element: element, field: field, into: &out)
        }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: member.utf8)
        out.append(UInt8(ascii: "]"))
        out.append(contentsOf: rest[found.upperBound..<rest.endIndex])
        return Data(out)
    }

    /// One placement as `JSONEncoder` writes it: keys in sorted order, nil members left out.
    private static func write(_ placement: PlacementStatus, element: [UInt8], field: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: element)
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            out.append(contentsOf: first ? [UInt8(ascii: "\n")] : [UInt8(ascii: ","), UInt8(ascii: "\n")])
            first = false
            out.append(contentsOf: field)
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: "\" : ".utf8)
        }
        if let detail = placement.detail {
            key("detail")
            string(detail, into: &out)
        }
        key("endpointID")
        string(placement.endpointID, into: &out)
        key("file")
        string(placement.file, into: &out)
        key("models")
        out.append(contentsOf: "[\n".utf8)
        if placement.models.isEmpty {
            out.append(UInt8(ascii: "\n"))
        } else {
            for (index, model) in placement.models.enumerated() {
                if index > 0 { out.append(contentsOf: ",\n".utf8) }
                out.append(contentsOf: field)
                out.append(contentsOf: "  ".utf8)
                string(model, into: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }
        out.append(contentsOf: field)
        out.append(UInt8(ascii: "]"))
        if let pending = placement.pendingAction {
            key("pendingAction")
            string(pending.rawValue, into: &out)
        }
        if let remoteID = placement.remoteID {
            key("remoteID")
            string(remoteID, into: &out)
        }
        key("state")
        string(placement.state.rawValue, into: &out)
        key("unifiedID")
        string(placement.unifiedID, into: &out)
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: element)
        out.append(UInt8(ascii: "}"))
    }

    /// A JSON string as `JSONEncoder` writes it with `.withoutEscapingSlashes`: `"` and `\` escaped, the control
    /// characters as `\b \f \n \r \t` or `\u00xx`, everything else (non-ASCII included) as it is.
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
