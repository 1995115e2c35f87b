/// Where a secret comes from. Only the reference is ever stored or printed, never the value.
public enum CredentialReference: Hashable, Codable, Sendable, CustomStringConvertible {
    /// `os.environ/NAME` in the model list.
    case environment(String)
    /// A literal written in the model list; identified only by a short fingerprint of its value.
    case inline(fingerprint: String)
    /// No credential configured.
    case none

    public var description: String {
        switch self {
        case .environment(let name): return "env:\(name)"
        case .inline(let fingerprint): return "inline:\(fingerprint)"
        case .none: return "none"
        }
    }
}

/// A secret value held in memory only. Printing it never shows the value.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw value; read it only to put it on the wire.
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
