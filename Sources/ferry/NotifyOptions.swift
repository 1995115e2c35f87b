import ArgumentParser
import FerryEngine
import FerryProviders
import Foundation

/// `--notify URL` (repeatable) or `FERRY_NOTIFY` (comma-separated): webhooks told when a pass stalls or a prune is
/// blocked (`apply`, `reconcile`).
struct NotifyOptions: ParsableArguments {
    @Option(
        name: .customLong("notify"),
        help: ArgumentHelp(
            """
            POST a JSON message (Slack-compatible 'text' plus fields) to URL when a pass ends with placements that \
            did not converge or a prune is blocked by --max-deletes, or, on 'drift' and 'plan --refresh-only', when \
            drift is found (repeatable; env FERRY_NOTIFY, comma-separated; \
            http(s) only; a failing webhook never fails the pass).
            """, valueName: "URL"))
    var urls: [String] = []

    /// The flags, else `FERRY_NOTIFY`.
    /// - Throws: `CLIError` naming the bad entry by position and saying why, never showing the URL.
    func targets(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [WebhookTarget] {
        let (texts, source) = urls.isEmpty
            ? ((environment["FERRY_NOTIFY"] ?? "").split(separator: ",").map(String.init), "FERRY_NOTIFY")
            : (urls, "--notify")
        var targets: [WebhookTarget] = []
        for (index, text) in texts.enumerated() {
            if text.trimmingCharacters(in: .whitespaces).isEmpty, source == "FERRY_NOTIFY" { continue }
            do {
                targets.append(try WebhookTarget(text))
            } catch {
                let which = texts.count > 1 ? " (entry \(index + 1))" : ""
                throw CLIError(.invalidArgument, "\(source)\(which) \(error); nothing was changed")
            }
        }
        return targets
    }

    /// A notifier for these webhooks, or nil when there are none. Delivery failures are printed as warnings.
    /// - Throws: `CLIError` for a URL that cannot be used.
    func makeNotifier(_ options: GlobalOptions, console: Console) throws -> Notifier? {
        let targets = try targets()
        guard !targets.isEmpty else { return nil }
        bootstrapLogging(level: options.logLevel)  // before the notifier makes its logger
        // Events carry the revision of their pass (`EngineConfiguration.revision`, detected once per run).
        return Notifier(
            targets: targets, workspace: options.workspace,
            warn: { console.err($0) })
    }
}

/// `--retry-backoff` and `--retry-backoff-max`: the per-placement backoff of `reconcile --interval`.
struct BackoffOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "With --interval, wait this long before trying a failing placement again, doubling per failure (default 30s).")
    var retryBackoff: String = "30s"

    @Option(name: .long, help: "With --interval, the longest wait between attempts of a failing placement (default 1h).")
    var retryBackoffMax: String = "1h"

    func validate() throws {
        guard parseDuration(retryBackoff) != nil else {
            throw ValidationError("--retry-backoff must be a duration such as 30s, 5m or 1h")
        }
        guard parseDuration(retryBackoffMax) != nil else {
            throw ValidationError("--retry-backoff-max must be a duration such as 30s, 5m or 1h")
        }
    }

    var policy: BackoffPolicy {
        BackoffPolicy(base: parseDuration(retryBackoff) ?? .seconds(30), cap: parseDuration(retryBackoffMax) ?? .seconds(3600))
    }
}
