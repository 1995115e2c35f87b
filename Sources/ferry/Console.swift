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

/// Where the CLI writes: results on stdout, progress and diagnostics on stderr.
struct Console: Sendable {
    let colorStdout: Bool
    let colorStderr: Bool
    let interactive: Bool

    init(noColor: Bool) {
        let env = ProcessInfo.processInfo.environment
        let allowed = !noColor && env["NO_COLOR"].map(\.isEmpty) ?? true && env["TERM"] != "dumb"
        colorStdout = allowed && isatty(STDOUT_FILENO) == 1
        colorStderr = allowed && isatty(STDERR_FILENO) == 1
        interactive = isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func err(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    func paintErr(_ text: String, _ code: String) -> String {
        colorStderr ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func error(_ text: String) { err(paintErr("Error: ", "31;1") + text) }

    /// Asks `question` on the terminal, Terraform style; true only when the answer is exactly `yes`.
    func confirm(_ question: String) -> Bool {
        err(question + "\nOnly 'yes' will be accepted.")
        FileHandle.standardError.write(Data("  Enter a value: ".utf8))
        return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
    }

    /// Progress lines for engine events: one plain line each, so CI logs stay readable.
    func reporter(verbose: Bool = true) -> @Sendable (EngineEvent) -> Void {
        let console = self
        let progress = ProgressRenderer(console: console)
        return { event in
            if case .warning(let diagnostic) = event {
                progress.above { console.err(diagnostic.description) }
                return
            }
            guard verbose else { return }
            switch event {
            case .uploadProgress(let action, let sent, let total):
                return progress.update(action, sent: sent, total: total)
            case .actionSucceeded(let action, _), .actionFailed(let action, _):
                progress.finish(action)
            default:
                break
            }
            progress.above { console.show(event) }
        }
    }

    /// The line (if any) an engine event prints.
    private func show(_ event: EngineEvent) {
        let console = self
        switch event {
        case .observed(let endpoint, let files, let pages):
            console.err("Listed \(endpoint.displayName): \(files) file(s) in \(pages) page(s)")
        case .observeFailed(let endpoint, let message):
            console.err(console.paintErr("Cannot list \(endpoint.displayName): \(message)", "31"))
        case .hashed(let report):
            if report.hashed > 0 {
                console.err("Hashed \(report.hashed) source(s) (\(report.bytesRead) bytes); \(report.cached) unchanged")
            }
        case .actionStarted(let action):
            console.err("\(action.kind.rawValue.capitalized) \(action.file) on \(Console.endpointLabel(action.endpointID))...")
        case .actionSucceeded(let action, let remoteID):
            guard action.kind.mutatesProvider else { return }
            console.err(
                console.paintErr("  done: \(action.kind.rawValue) \(action.file) -> \(remoteID ?? "")", "32"))
        case .actionFailed(let action, let message):
            console.err(console.paintErr("  failed: \(action.kind.rawValue) \(action.file): \(message)", "31"))
        case .round(let number):
            if number > 1 { console.err("Round \(number): observing again") }
        case .actionDeferred(let action, let retry):
            console.err(
                console.paintErr(
                    "Skipping \(action.kind.rawValue) \(action.file) on \(Console.endpointLabel(action.endpointID)): "
                        + retry.description, "33"))
        case .warning, .uploadProgress:
            break  // printed by the reporter
        }
    }

    /// A readable form of an endpoint id (`kind base-url (credential)`).
    static func endpointLabel(_ id: String) -> String {
        let parts = id.split(separator: "|").map(String.init)
        guard parts.count >= 3 else { return id }
        return "\(parts[0]) \(parts[1...].dropLast().joined(separator: " ")) (\(parts.last ?? ""))"
    }

    /// Prints validation diagnostics the way compilers do.
    func report(_ failure: ValidationFailed) {
        for diagnostic in failure.diagnostics {
            let severity: String
            switch diagnostic.severity {
            case .error: severity = paintErr("error", "31;1")
            case .warning: severity = paintErr("warning", "33;1")
            case .note: severity = paintErr("note", "36;1")
            }
            var place = diagnostic.file
            if diagnostic.line > 0 {
                place += ":\(diagnostic.line)"
                if diagnostic.column > 0 { place += ":\(diagnostic.column)" }
            }
            var line = "\(place): \(severity): \(diagnostic.message)"
            if let hint = diagnostic.hint { line += " (hint: \(hint))" }
            err(line)
        }
        let count = failure.errors.count
        err("\(count) error\(count == 1 ? "" : "s") found; nothing was changed.")
    }
}
