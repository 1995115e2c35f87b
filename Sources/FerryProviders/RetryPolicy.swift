import Foundation

/// How a client repeats retryable failures: exponential backoff with full jitter, honouring the provider's
/// `Retry-After` when it names a delay.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per call, the first included (1 disables retries).
    public var maxAttempts: Int
    /// The backoff ceiling before the first retry; it doubles on every retry.
    public var baseDelay: Duration
    /// The largest backoff ceiling.
    public var maxDelay: Duration
    /// The longest `Retry-After` the client will wait in place. A longer one ends the call with
    /// `.retryable(after:)` so the engine can reschedule instead of holding a worker.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20),
        maxRetryAfter: Duration = .seconds(60)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// The backoff ceiling before retry number `retry` (1-based): `min(maxDelay, baseDelay * 2^(retry-1))`.
    public func ceiling(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let grown = baseDelay * (1 << exponent)
        return grown < maxDelay ? grown : maxDelay
    }

    /// The pause before retry number `retry`, or `nil` when the provider asked for longer than `maxRetryAfter`.
    /// Without `retryAfter`, a uniformly random duration in `0...ceiling` (full jitter), so that many clients
    /// failing together do not retry together.
    public func delay(
        beforeRetry retry: Int, retryAfter: Duration?, using generator: inout some RandomNumberGenerator
    ) -> Duration? {
        if let retryAfter {
            return retryAfter > maxRetryAfter ? nil : max(retryAfter, .zero)
        }
        let ceilingNanoseconds = Self.nanoseconds(ceiling(beforeRetry: retry))
        guard ceilingNanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...ceilingNanoseconds, using: &generator))
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Reads the delay a provider asks for: `retry-after-ms` (OpenAI, Azure), else `Retry-After` as seconds or an
/// HTTP-date (RFC 9110 §10.2.3).
enum RetryAfterHeader {
    /// - Parameters:
    ///   - retryAfter: the `Retry-After` value, if any.
    ///   - retryAfterMilliseconds: the `retry-after-ms` value, if any; it wins when valid.
    ///   - now: the current time in Unix seconds, to turn an HTTP-date into a delay.
    /// - Returns: the delay, never negative; `nil` when no header is present or none parses.
    static func parse(retryAfter: String?, retryAfterMilliseconds: String?, now: Double) -> Duration? {
        if let raw = retryAfterMilliseconds?.trimmingCharacters(in: .whitespaces),
            let milliseconds = Double(raw), milliseconds.isFinite, milliseconds >= 0
        {
            return .milliseconds(min(milliseconds, 1e12))
        }
        guard let raw = retryAfter?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if let seconds = Double(raw), raw.first?.isNumber == true {
            guard seconds.isFinite, seconds >= 0 else { return nil }
            return .milliseconds(min(seconds, 1e9) * 1000)
        }
        guard let date = HTTPDate.parse(raw) else { return nil }
        let delta = Double(date) - now
        return delta > 0 ? .milliseconds(delta * 1000) : .zero
    }
}

/// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7), to Unix seconds.
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ text: String) -> Int64? {
        let tokens = text.replacingOccurrences(of: ",", with: " ").split(whereSeparator: \.isWhitespace).map(
            String.init)
        let day: Int?, month: Int?, year: Int?, time: String
        switch tokens.count {
        case 6 where tokens[5].uppercased() == "GMT":
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            (day, month, year, time) = (Int(tokens[1]), monthIndex(tokens[2]), Int(tokens[3]), tokens[4])
        case 4 where tokens[3].uppercased() == "GMT":
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            let parts = tokens[1].split(separator: "-").map(String.init)
            guard parts.count == 3, let twoDigit = Int(parts[2]) else { return nil }
            (day, month, time) = (Int(parts[0]), monthIndex(parts[1]), tokens[2])
            year = parts[2].count == 2 ? (twoDigit < 70 ? 2000 + twoDigit : 1900 + twoDigit) : twoDigit
        case 5:
            // asctime: Sun Nov  6 08:49:37 1994
            (day, month, year, time) = (Int(tokens[2]), monthIndex(tokens[1]), Int(tokens[4]), tokens[3])
        default:
            return nil
        }
        let clock = time.split(separator: ":").compactMap { Int($0) }
        guard let day, let month, let year, clock.count == 3, (1...31).contains(day), (1900...9999).contains(year),
            (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2])
        else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return days * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
    }

    private static func monthIndex(_ name: String) -> Int? {
        months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int64(era * 146_097 + dayOfEra - 719_468)
    }
}
