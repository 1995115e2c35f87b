import Foundation

/// Cloud Storage's partial responses: the `fields` query parameter names the parts of a JSON resource to return,
/// e.g. `nextPageToken,items(name,size,metadata)` or `items/name`. `*` selects everything at its level; a field
/// selected without sub-fields is returned whole. Fields the resource does not have are left out without error, as
/// the service does; a malformed selection is a 400.
struct GCSFieldSelection: Equatable {
    /// Selected keys and what is selected inside each (nil: the whole value).
    var fields: [String: GCSFieldSelection?]

    /// Parses a selection; nil when it is malformed (unbalanced parentheses, an empty field name).
    init?(_ text: String) {
        var parser = Parser(characters: Array(text))
        guard let parsed = parser.list(), parser.index == parser.characters.count else { return nil }
        self = parsed
    }

    private init(fields: [String: GCSFieldSelection?]) { self.fields = fields }

    /// `value` with only the selected parts: objects keep the selected keys, arrays apply the selection to each
    /// element, anything else is returned as it is.
    func apply(to value: JSON) -> JSON {
        switch value {
        case .object(let pairs):
            if let all = fields["*"] { return all.map { $0.apply(to: value) } ?? value }
            return .object(
                pairs.compactMap { key, inner in
                    guard let selected = fields[key] else { return nil }
                    return (key, selected.map { $0.apply(to: inner) } ?? inner)
                })
        case .array(let values):
            return .array(values.map(apply))
        default:
            return value
        }
    }

    private struct Parser {
        let characters: [Character]
        var index = 0

        /// `field (',' field)*`
        mutating func list() -> GCSFieldSelection? {
            var fields: [String: GCSFieldSelection?] = [:]
            repeat {
                guard let (name, selection) = field() else { return nil }
                fields[name] = Self.merge(fields[name], selection)
            } while consume(",")
            return GCSFieldSelection(fields: fields)
        }

        /// `name ('/' field | '(' list ')')?`
        mutating func field() -> (String, GCSFieldSelection?)? {
            var name = ""
            while index < characters.count, !",/()".contains(characters[index]) {
                name.append(characters[index])
                index += 1
            }
            name = name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { return nil }
            if consume("/") {
                guard let (inner, selection) = field() else { return nil }
                return (name, GCSFieldSelection(fields: [inner: selection]))
            }
            if consume("(") {
                guard let inner = list(), consume(")") else { return nil }
                return (name, inner)
            }
            return (name, nil)
        }

        mutating func consume(_ character: Character) -> Bool {
            guard index < characters.count, characters[index] == character else { return false }
            index += 1
            return true
        }

        /// The same field selected twice: the union (the whole value wins over a part of it).
        static func merge(_ old: GCSFieldSelection??, _ new: GCSFieldSelection?) -> GCSFieldSelection? {
            guard let old else { return new }  // not selected before
            guard let old, let new else { return nil }
            return GCSFieldSelection(fields: old.fields.merging(new.fields) { a, b in merge(.some(a), b) })
        }
    }
}
