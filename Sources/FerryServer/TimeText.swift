import Foundation

/// Times as people read them: UTC date and time, and how long ago.
enum TimeText {
    /// `2024-05-01 12:00:00` in UTC (ISO 8601 with a space, without the zone designator).
    private static let utcStyle = Date.ISO8601FormatStyle(timeZone: TimeZone(secondsFromGMT: 0)!)
        .year().month().day().dateSeparator(.dash).dateTimeSeparator(.space)
        .time(includingFractionalSeconds: false).timeSeparator(.colon)

    /// `2024-05-01 12:00:00 UTC`.
    static func utc(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds.rounded(.down)).formatted(utcStyle) + " UTC"
    }

    /// `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `in the future`.
    static func ago(_ seconds: Double, now: Double) -> String {
        let delta = now - seconds
        if delta < -1 { return "in the future" }
        if delta < 60 { return "\(Int(max(0, delta))) s ago" }
        if delta < 3600 { return "\(Int(delta / 60)) min ago" }
        if delta < 86_400 { return "\(Int(delta / 3600)) h ago" }
        return "\(Int(delta / 86_400)) d ago"
    }

    /// `1.25 s`, `3 min 4 s`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
