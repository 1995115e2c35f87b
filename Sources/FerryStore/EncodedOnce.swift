import Foundation

/// JSON text of values that repeat (most files share their target models and labels), encoded once each with
/// sorted keys. Both state backends store a file's models and labels this way.
struct EncodedOnce<Value: Encodable & Hashable> {
    private let encoder: JSONEncoder
    private var texts: [Value: String] = [:]

    init(encoder: JSONEncoder) {
        self.encoder = encoder
    }

    /// The JSON text of `value`, from the cache when it was encoded before.
    mutating func text(_ value: Value) throws -> String {
        if let known = texts[value] { return known }
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        texts[value] = text
        return text
    }
}
