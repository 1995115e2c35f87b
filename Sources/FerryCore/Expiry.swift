/// Files that providers delete by themselves, and how far ahead of that Ferry replaces them.
public enum Expiry {
    /// The default margin: a copy expiring within six hours is replaced by a fresh one.
    public static let defaultRefreshMarginSeconds: Int64 = 6 * 3600

    /// OpenAI's bounds for `expires_after.seconds` (one hour to thirty days).
    public static let openAIExpiresAfterRange: ClosedRange<Int64> = 3600...2_592_000
    /// Azure OpenAI's bounds (fourteen to thirty days).
    public static let azureExpiresAfterRange: ClosedRange<Int64> = 1_209_600...2_592_000

    /// Seconds in `text`: a whole number of seconds, or a number with a unit `s`, `m`, `h` or `d` (`90s`, `30m`,
    /// `6h`, `30d`); nil for anything else, zero or negative.
    public static func seconds(_ text: String) -> Int64? {
        let trimmed = Substring(text).drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()
            .map { String($0) }.joined()
        let units: [(Character, Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        var number = Substring(trimmed)
        var scale: Int64 = 1
        if let last = trimmed.last, let unit = units.first(where: { $0.0 == last }) {
            number = trimmed.dropLast()
            scale = unit.1
        }
        guard !number.isEmpty, number.allSatisfy(\.isASCIIDigit), let value = Int64(number), value > 0,
            value <= Int64.max / scale
        else { return nil }
        return value * scale
    }

    /// `6h`, `30d`, `90m`, `45s`: the largest whole unit.
    public static func text(seconds: Int64) -> String {
        for (unit, scale) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds >= scale && seconds % scale == 0 {
            return "\(seconds / scale)\(unit)"
        }
        return "\(seconds)s"
    }

    /// `2026-12-02T20:00:00Z` for Unix seconds (UTC, proleptic Gregorian), without Foundation.
    public static func utcText(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }

    /// Why `margin` cannot work, or nil: a margin at least as long as a provider's fixed file lifetime would
    /// replace every copy on every pass (each new copy would already be "about to expire").
    public static func marginProblem(_ margin: Int64) -> String? {
        guard margin >= 0 else { return "the margin must not be negative" }
        for kind in ProviderKind.allCases.sorted() {
            if let lifetime = kind.fileLifetimeSeconds, margin >= lifetime {
                return "\(text(seconds: margin)) is not shorter than the \(text(seconds: lifetime)) a \(kind.rawValue) "
                    + "file lives, so every new copy would be replaced again at once; use less than "
                    + text(seconds: lifetime)
            }
        }
        return nil
    }
}

extension ProviderKind {
    /// How long the provider keeps every file before deleting it by itself; nil when it keeps files until they are
    /// deleted (or when their lifetime is set per file, as OpenAI's `expires_after`).
    public var fileLifetimeSeconds: Int64? {
        self == .gemini ? 48 * 3600 : nil
    }

    /// Whether files on this provider may declare `expiresAfter` (sent as `expires_after` on create).
    public var acceptsExpiresAfter: Bool { self == .openai || self == .azure }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
