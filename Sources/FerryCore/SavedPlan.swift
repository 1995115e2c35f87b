import Foundation

/// A plan written by `ferry plan -out FILE` and read by `ferry apply FILE`.
public struct SavedPlan: Codable, Sendable, Hashable {
    /// Identifies the file type, so a random JSON file is not mistaken for a plan.
    public var format: String = SavedPlan.formatName
    public var plan: Plan
    /// Unix seconds.
    public var createdAt: Int64
    /// The manifest root the plan was computed from.
    public var manifestRoot: String

    public static let formatName = "ferry-plan/v1"

    public init(plan: Plan, createdAt: Int64, manifestRoot: String) {
        self.plan = plan
        self.createdAt = createdAt
        self.manifestRoot = manifestRoot
    }

    /// Stable JSON (sorted keys), the same schema as `ferry plan -o json` under `plan`.
    public func encoded() throws -> Data {
        try PlanJSON.encode(placements: plan.placements, depth: 1) { placements in
            var saved = self
            saved.plan.placements = placements
            return try Plan.jsonEncoder.encode(saved)
        }
    }

    /// - Throws: `ValidationFailed` with one diagnostic naming the file when it is not a complete plan.
    public static func decode(_ data: Data, path: String) throws(ValidationFailed) -> SavedPlan {
        struct Header: Decodable { var format: String? }
        func failure(_ message: String, hint: String) -> ValidationFailed {
            ValidationFailed(diagnostics: [Diagnostic(file: path, message: message, hint: hint)])
        }
        do {
            // Check what the file claims to be first, so a foreign JSON file gets a plain answer.
            if let header = try? JSONDecoder().decode(Header.self, from: data), header.format != formatName {
                throw failure(
                    "not a Ferry plan (format '\(header.format ?? "none")')",
                    hint: "create one with 'ferry plan -out \(path)'")
            }
            let saved = try JSONDecoder().decode(SavedPlan.self, from: data)
            guard saved.plan.formatVersion == 1 else {
                throw failure(
                    "plan format version \(saved.plan.formatVersion) is not supported",
                    hint: "re-create the plan with this version of Ferry")
            }
            return saved
        } catch let refused as ValidationFailed {
            throw refused
        } catch let error as DecodingError {
            throw failure(
                "the plan file is damaged or truncated (\(describe(error)))",
                hint: "re-create it with 'ferry plan -out \(path)'")
        } catch {
            throw failure("cannot read the plan: \(error)", hint: "re-create it with ferry plan")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(context.codingPath))"
        case .keyNotFound(let key, let context):
            return "missing '\(key.stringValue)' at \(path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(path(context.codingPath))"
        @unknown default:
            return "undecodable"
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

extension Plan {
    /// Encoder for the stable JSON schema: sorted keys, pretty printed.
    public static var jsonEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    /// `ferry plan -o json`.
    public func renderJSON() throws -> String {
        String(decoding: try jsonData(), as: UTF8.self) + "\n"
    }

    /// The stable JSON of this plan (`jsonEncoder`'s bytes; see `PlanJSON`).
    public func jsonData() throws -> Data {
        try PlanJSON.encode(placements: placements, depth: 0) { placements in
            var plan = self
            plan.placements = placements
            return try Plan.jsonEncoder.encode(plan)
        }
    }
}
