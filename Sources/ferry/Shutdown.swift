import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns SIGINT/SIGTERM into a flag that long-running loops check between passes, so a pass in progress
/// finishes (or reaches a safe point) instead of dying half way; servers simply `wait()` for it.
final class ShutdownSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var triggered = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var sources: [any DispatchSourceSignal] = []
    private(set) var signalName = ""

    init(signals: [Int32] = [SIGINT, SIGTERM]) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in fire(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    var isTriggered: Bool { lock.withLock { triggered } }

    /// Suspends until a signal arrives (returns at once if one already has).
    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = lock.withLock {
                if triggered { return true }
                waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Sleeps up to `duration`; returns early (true) when a signal arrives.
    func sleep(for duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if isTriggered { return true }
            try? await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
        return isTriggered
    }

    private func fire(_ signalNumber: Int32) {
        let pending = lock.withLock {
            triggered = true
            signalName = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in pending { waiter.resume() }
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h` (or a bare number of seconds).
func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let value = Double(text.dropLast(suffix.count)), value > 0 else { return nil }
        return .milliseconds(Int64(value * scale * 1000))
    }
    guard let seconds = Double(text), seconds > 0 else { return nil }
    return .milliseconds(Int64(seconds * 1000))
}
