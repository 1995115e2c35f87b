import FerryCore
import FerryEngine
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Progress of large uploads (`TransferMeter.threshold` and up) on stderr, from the bytes the provider clients
/// hand to the HTTP client.
///
/// - On a terminal: one live line per upload in flight, redrawn at most ten times a second below the other
///   output; every other line printed during an upload goes above them (`above`).
/// - Otherwise (CI logs, pipes, `TERM=dumb`): one plain line per 10 % step and upload, at most ten per file.
final class ProgressRenderer: @unchecked Sendable {
    private let console: Console
    private let live: Bool
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private var meters: [PlacementKey: (name: String, meter: TransferMeter)] = [:]
    /// Order of the live lines.
    private var order: [PlacementKey] = []
    /// Live lines currently drawn below the cursor's line.
    private var drawn = 0
    private var lastDraw = 0.0

    init(console: Console, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.console = console
        let env = ProcessInfo.processInfo.environment
        self.live = isatty(STDERR_FILENO) == 1 && env["TERM"] != "dumb"
        self.now = now
    }

    /// Bytes of `action`'s upload handed over so far.
    func update(_ action: PlannedAction, sent: Int64, total: Int64) {
        guard TransferMeter.shows(bytes: total) else { return }
        lock.withLock {
            let key = action.placement
            let time = now()
            var entry = meters[key] ?? (Self.name(action), TransferMeter(total: total, started: time))
            entry.meter.update(sent: sent, at: time)
            if meters[key] == nil { order.append(key) }
            meters[key] = entry
            if live {
                if time - lastDraw >= 0.1 || sent >= total { redraw(at: time) }
            } else if entry.meter.nextStep() != nil {
                meters[key] = entry
                console.err("  " + entry.meter.line(name: entry.name))
            }
        }
    }

    /// The action ended (done or failed): its live line goes away.
    func finish(_ action: PlannedAction) {
        lock.withLock {
            guard meters.removeValue(forKey: action.placement) != nil else { return }
            order.removeAll { $0 == action.placement }
            if live { redraw(at: now()) }
        }
    }

    /// Prints other output above the live lines.
    func above(_ print: () -> Void) {
        lock.withLock {
            guard live, drawn > 0 else { return print() }
            clear()
            print()
            redraw(at: now())
        }
    }

    // MARK: Terminal (lock held)

    private func clear() {
        guard drawn > 0 else { return }
        // Up to the first live line, then erase to the end of the screen.
        FileHandle.standardError.write(Data("\u{1B}[\(drawn)A\r\u{1B}[J".utf8))
        drawn = 0
    }

    private func redraw(at time: Double) {
        clear()
        lastDraw = time
        let width = Self.terminalWidth()
        var text = ""
        for key in order {
            guard let entry = meters[key] else { continue }
            // One screen line each (a wrapped line would break the redraw): the name gives way, the numbers stay.
            let status = entry.meter.status
            var name = entry.name
            let room = width - 1 - 2 - 2 - status.count
            if name.count > room { name = String(name.prefix(max(room - 1, 1))) + "…" }
            text += console.paintErr("  \(name): \(status)", "36") + "\n"
        }
        drawn = order.count
        if !text.isEmpty { FileHandle.standardError.write(Data(text.utf8)) }
    }

    private static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// `uploading handbook to openai api.openai.com`, `uploading handbook to vertex gs://bucket/ferry`.
    static func name(_ action: PlannedAction) -> String {
        let parts = action.endpointID.split(separator: "|").map(String.init)
        var place = action.endpointID
        if parts.count >= 2 {
            let bucket = parts.first { $0.hasPrefix("bucket=") }.map { "gs://" + $0.dropFirst("bucket=".count) }
            place = parts[0] + " " + (bucket ?? URL(string: parts[1])?.host ?? parts[1])
        }
        return "uploading \(action.file) to \(place)"
    }
}
