import Foundation

/// The progress of one upload as a user interface shows it: bytes handed over, rate, time left, and which 10 %
/// steps have been announced. Pure: time is handed in.
public struct TransferMeter: Sendable {
    /// Uploads smaller than this show no progress (they take a moment).
    public static let threshold: Int64 = 8 << 20

    public let total: Int64
    public let started: Double
    public private(set) var sent: Int64 = 0
    public private(set) var updated: Double
    /// The highest 10 % step announced so far (0 to 10).
    public private(set) var announcedStep = 0
    /// Recent (time, bytes) samples for the rate: the last few seconds, so a stall shows.
    private var samples: [(time: Double, bytes: Int64)] = []
    /// Seconds of samples the rate averages over.
    static let window = 5.0

    public init(total: Int64, started: Double) {
        self.total = max(total, 0)
        self.started = started
        self.updated = started
        samples = [(started, 0)]
    }

    /// Whether an upload of `bytes` shows progress at all.
    public static func shows(bytes: Int64) -> Bool { bytes >= threshold }

    /// Records `sent` bytes at `now` (it may go down: a retried part starts over).
    public mutating func update(sent: Int64, at now: Double) {
        self.sent = min(max(sent, 0), total)
        updated = now
        samples.append((now, self.sent))
        while samples.count > 2, let first = samples.first, now - first.time > Self.window { samples.removeFirst() }
    }

    /// 0...100.
    public var percent: Int { total == 0 ? 100 : Int((Double(sent) * 100 / Double(total)).rounded(.down)) }

    /// Bytes per second over the last few seconds; nil until time has passed.
    public var rate: Double? {
        guard let first = samples.first, let last = samples.last, last.time - first.time > 0.05 else { return nil }
        return max(Double(last.bytes - first.bytes), 0) / (last.time - first.time)
    }

    /// Seconds left at the current rate; nil when unknown.
    public var eta: Double? {
        guard let rate, rate > 0 else { return sent >= total ? 0 : nil }
        return Double(total - sent) / rate
    }

    /// The 10 % step (10, 20, … 100) to announce now, if one was crossed since the last announcement; at most one
    /// line per step and per upload, whatever the number of updates or retries.
    public mutating func nextStep() -> Int? {
        let step = percent / 10
        guard step > announcedStep else { return nil }
        announcedStep = step
        return step * 10
    }

    /// `handbook.pdf: 40% 8.0 MiB of 20.0 MiB, 6.3 MiB/s, 2s left`.
    public func line(name: String) -> String { "\(name): \(status)" }

    /// `40% 8.0 MiB of 20.0 MiB, 6.3 MiB/s, 2s left`, or `… 5s in all` once everything was handed over.
    public var status: String {
        var text = "\(percent)% \(TransferText.bytes(sent)) of \(TransferText.bytes(total))"
        if let rate { text += ", \(TransferText.rate(rate))" }
        if sent >= total {
            text += ", \(TransferText.duration(updated - started)) in all"
        } else if let eta {
            text += ", \(TransferText.duration(eta)) left"
        }
        return text
    }
}

/// Sizes, rates and durations the way progress lines print them.
public enum TransferText {
    /// `913 B`, `512 KiB`, `20.0 MiB`, `1.50 GiB`.
    public static func bytes(_ count: Int64) -> String {
        let value = Double(count)
        if count < 1024 { return "\(count) B" }
        if count < 1 << 20 { return "\(Int((value / 1024).rounded())) KiB" }
        if count < 1 << 30 { return String(format: "%.1f MiB", value / Double(1 << 20)) }
        return String(format: "%.2f GiB", value / Double(1 << 30))
    }

    /// `6.3 MiB/s`.
    public static func rate(_ bytesPerSecond: Double) -> String {
        bytes(Int64(bytesPerSecond.isFinite ? max(bytesPerSecond, 0) : 0)) + "/s"
    }

    /// `0s`, `42s`, `3m05s`, `2h07m`.
    public static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.isFinite ? max(seconds, 0).rounded() : 0)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
