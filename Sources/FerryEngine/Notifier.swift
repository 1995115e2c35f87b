import FerryCore
import FerryProviders
import Foundation
import Logging

/// Something worth telling people about, posted to webhooks (`--notify URL`, `FERRY_NOTIFY`) as JSON with a
/// Slack-compatible `text` and structured fields.
public struct NotificationEvent: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A pass ended with placements that did not converge.
        case stalled
        /// A prune was refused by the deletion guard (`--max-deletes`, or manifests that declare nothing).
        case pruneBlocked = "prune-blocked"
        /// The providers drifted from the manifests (`plan --refresh-only`).
        case drift
        /// A situation posted earlier cleared: the pass converged again.
        case recovered
    }

    /// One placement the event is about.
    public struct Placement: Sendable, Hashable {
        public var file: String
        public var endpointID: String
        /// The endpoint's display name (base URL and the credential's *name*, never its value).
        public var endpoint: String
        /// The action concerned (`create`, `delete`, …), if any.
        public var action: String?
        /// Why, in one line.
        public var reason: String

        public init(file: String, endpointID: String, endpoint: String, action: String?, reason: String) {
            self.file = file
            self.endpointID = endpointID
            self.endpoint = endpoint
            self.action = action
            self.reason = reason
        }
    }

    public var kind: Kind
    /// The command that found it: `apply`, `reconcile`, `plan`.
    public var command: String
    /// One line for people: what happened.
    public var summary: String
    public var placements: [Placement]
    /// Numbers about it, e.g. `unconverged`, `failing`, `deletes`, `maxDeletes`.
    public var counts: [String: Int]
    /// When the pass started and ended (Unix seconds).
    public var startedAt: Double?
    public var finishedAt: Double
    /// The manifests' revision the pass worked from (`EngineConfiguration.revision`), if known. Carried by each
    /// event, so the messages of a long-running loop follow the repository as it moves.
    public var revision: String?

    public init(
        kind: Kind, command: String, summary: String, placements: [Placement] = [], counts: [String: Int] = [:],
        startedAt: Double? = nil, finishedAt: Double, revision: String? = nil
    ) {
        self.revision = revision
        self.kind = kind
        self.command = command
        self.summary = summary
        self.placements = placements
        self.counts = counts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

extension NotificationEvent {
    /// A pass that left placements unconverged; nil when `unconverged` is empty.
    public static func stalled(
        command: String, unconverged: [UnconvergedPlacement], applied: Int, startedAt: Double?, finishedAt: Double
    ) -> NotificationEvent? {
        guard !unconverged.isEmpty else { return nil }
        var counts = ["unconverged": unconverged.count, "applied": applied]
        for cause in [UnconvergedPlacement.Cause.failed, .notChecked, .pending, .backingOff] {
            counts[cause.rawValue] = unconverged.filter { $0.cause == cause }.count
        }
        return NotificationEvent(
            kind: .stalled, command: command,
            summary: "\(command) did not converge: \(unconverged.count) placement(s) out of sync",
            placements: unconverged.map {
                Placement(
                    file: $0.file, endpointID: $0.endpointID, endpoint: $0.endpointName, action: $0.action?.rawValue,
                    reason: $0.cause == .failed ? $0.reason : "\($0.cause.rawValue): \($0.reason)")
            }, counts: counts, startedAt: startedAt, finishedAt: finishedAt)
    }

    /// A plan whose prunes the deletion guard refused; nil when the guard did not refuse any prune.
    public static func pruneBlocked(
        command: String, plan: Plan, policy: PlanPolicy, declaresFiles: Bool, startedAt: Double?, finishedAt: Double
    ) -> NotificationEvent? {
        let prunes = plan.actions.filter { $0.kind == .delete && $0.reason == .pruned }
        let overBudget = policy.maxDeletes.map { prunes.count > $0 } ?? false
        let emptyGuard = !declaresFiles && !policy.allowEmpty
        guard !plan.blocked.isEmpty, !prunes.isEmpty, overBudget || emptyGuard else { return nil }
        let names = Dictionary(plan.endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        var counts = ["deletes": prunes.count]
        if let limit = policy.maxDeletes { counts["maxDeletes"] = limit }
        return NotificationEvent(
            kind: .pruneBlocked, command: command,
            summary: "\(command) refused to delete \(prunes.count) file(s) whose declarations were removed: "
                + plan.blocked.joined(separator: "; "),
            placements: prunes.map {
                Placement(
                    file: $0.file, endpointID: $0.endpointID, endpoint: names[$0.endpointID] ?? $0.endpointID,
                    action: $0.kind.rawValue, reason: "blocked prune of \($0.remoteID ?? "?")")
            }, counts: counts, startedAt: startedAt, finishedAt: finishedAt)
    }

    /// Drift found by `ferry drift` / `plan --refresh-only`: owned files deleted or changed out of band, foreign
    /// files; nil when there is none.
    public static func drift(
        command: String = "drift", report: DriftReport, endpointNames: [String: String], startedAt: Double? = nil,
        finishedAt: Double
    ) -> NotificationEvent? {
        guard report.hasDrift else { return nil }
        var counts = ["findings": report.findings.count]
        for finding in report.findings { counts[finding.kind.rawValue, default: 0] += 1 }
        return NotificationEvent(
            kind: .drift, command: command, summary: report.summaryLine,
            placements: report.findings.map {
                Placement(
                    file: $0.file, endpointID: $0.endpointID, endpoint: endpointNames[$0.endpointID] ?? $0.endpointID,
                    action: nil, reason: "\($0.kind.rawValue): \($0.detail) (\($0.remoteID))")
            }, counts: counts, startedAt: startedAt, finishedAt: finishedAt)
    }

    /// A situation that was posted cleared.
    public static func recovered(command: String, cleared: Kind, summary: String, finishedAt: Double)
        -> NotificationEvent
    {
        NotificationEvent(
            kind: .recovered, command: command, summary: "\(cleared.rawValue) cleared: \(summary)",
            counts: [:], finishedAt: finishedAt)
    }
}

/// Posts `NotificationEvent`s to every configured webhook, concurrently, each bounded by the client's timeout
/// (5 s). A failing, slow or refusing webhook never fails a pass: the failure is told to `warn` (the CLI prints a
/// warning) naming only the webhook's `scheme://host`. Messages carry display names of endpoints and scrubbed
/// provider messages, never a credential.
///
/// In a loop (`reconcile --interval`) `postIfChanged` posts a situation once, not every pass, and `clear` posts
/// `recovered` when it goes away.
public final class Notifier: @unchecked Sendable {
    public let targets: [WebhookTarget]
    public let workspace: String
    private let client: WebhookClient
    private let warn: @Sendable (String) -> Void
    private let logger: Logger
    private let lock = NSLock()
    /// What was posted last per kind (a signature), so a loop does not repeat itself.
    private var lastPosted: [NotificationEvent.Kind: String] = [:]

    /// - Parameters:
    ///   - targets: where to post (none: every call does nothing).
    ///   - workspace: the state workspace, shown in every message.
    ///   - warn: told of each failed delivery, in one line without the URL.
    public init(
        targets: [WebhookTarget], workspace: String, timeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "ferry.notify"), warn: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.targets = targets
        self.workspace = workspace
        self.client = WebhookClient(timeout: timeout)
        self.logger = logger
        self.warn = warn
    }

    /// Posts `event` to every target; returns when every delivery succeeded or failed (at most the timeout).
    /// Never throws.
    /// - Returns: how many deliveries failed.
    @discardableResult
    public func post(_ event: NotificationEvent) async -> Int {
        guard !targets.isEmpty else { return 0 }
        let body = payload(event)
        return await withTaskGroup(of: Bool.self) { group in
            for target in targets {
                group.addTask {
                    if let failure = await self.client.post(body, to: target) {
                        self.logger.info(
                            "notification not delivered",
                            metadata: ["ferry.webhook": .string(target.description), "ferry.error": .string(failure)])
                        self.warn(
                            "Warning: could not post the \(event.kind.rawValue) notification to \(target): \(failure) "
                                + "(the pass is not affected)")
                        return false
                    }
                    return true
                }
            }
            var failed = 0
            for await delivered in group where !delivered { failed += 1 }
            return failed
        }
    }

    /// Posts `event` unless the last event of its kind was about the same placements (a loop that stays stalled
    /// posts once).
    public func postIfChanged(_ event: NotificationEvent) async {
        let signature = Self.signature(event)
        let changed: Bool = lock.withLock {
            guard lastPosted[event.kind] != signature else { return false }
            lastPosted[event.kind] = signature
            return true
        }
        if changed { await post(event) }
    }

    /// The situation `kind` cleared: posts `recovered` when an event of that kind was posted before.
    public func clear(
        _ kind: NotificationEvent.Kind, command: String, summary: String, at now: Double, revision: String? = nil
    ) async {
        let posted: Bool = lock.withLock { lastPosted.removeValue(forKey: kind) != nil }
        guard posted else { return }
        var event = NotificationEvent.recovered(command: command, cleared: kind, summary: summary, finishedAt: now)
        event.revision = revision
        await post(event)
    }

    static func signature(_ event: NotificationEvent) -> String {
        event.placements.map { "\($0.file)|\($0.endpointID)|\($0.action ?? "")" }.sorted().joined(separator: "\n")
            + "\n" + event.counts.filter { $0.key != "applied" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ",")
    }

    /// The JSON posted: `text` (Slack, Mattermost, Teams workflows and most chat webhooks show it) and the fields
    /// `event`, `command`, `workspace`, `revision`, `summary`, `placements`, `counts`, `startedAt`, `finishedAt`.
    public func payload(_ event: NotificationEvent) -> Data {
        var object: [String: Any] = [
            "text": text(event), "event": event.kind.rawValue, "command": event.command, "workspace": workspace,
            "summary": event.summary, "counts": event.counts, "finishedAt": FerryClock.iso8601(event.finishedAt),
            "placements": event.placements.map { placement -> [String: Any] in
                var item: [String: Any] = [
                    "file": placement.file, "endpointID": placement.endpointID, "endpoint": placement.endpoint,
                    "reason": placement.reason,
                ]
                if let action = placement.action { item["action"] = action }
                return item
            },
        ]
        object["revision"] = event.revision ?? NSNull()
        object["startedAt"] = event.startedAt.map(FerryClock.iso8601) ?? NSNull()
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// The chat line: what, where, and the first placements.
    func text(_ event: NotificationEvent) -> String {
        let icon: String
        switch event.kind {
        case .stalled: icon = ":warning:"
        case .pruneBlocked: icon = ":no_entry:"
        case .drift: icon = ":mag:"
        case .recovered: icon = ":white_check_mark:"
        }
        var text = "\(icon) Ferry [\(workspace)\(event.revision.map { " @ \($0.prefix(12))" } ?? "")] \(event.summary)"
        let shown = event.placements.prefix(10)
        for placement in shown {
            text += "\n• \(placement.action.map { "\($0) " } ?? "")\(placement.file) on \(placement.endpoint): "
                + String(placement.reason.prefix(300))
        }
        if event.placements.count > shown.count { text += "\n… and \(event.placements.count - shown.count) more" }
        return text
    }

}

extension Notifier {
    /// After a reconcile pass: `stalled` when placements did not converge, `prune-blocked` when the deletion guard
    /// refused, `recovered` when a pass converges after either was posted. Each situation is posted once while it
    /// lasts (`postIfChanged`).
    public func reconcileEnded(
        _ report: ReconcileReport, policy: PlanPolicy, declaresFiles: Bool, revision: String?, startedAt: Double?,
        finishedAt: Double
    ) async {
        switch report.outcome {
        case .converged:
            for kind in [NotificationEvent.Kind.stalled, .pruneBlocked] {
                await clear(kind, command: "reconcile", summary: "converged", at: finishedAt, revision: revision)
            }
        case .notConverged:
            if var event = NotificationEvent.stalled(
                command: "reconcile", unconverged: report.unconverged, applied: report.applied, startedAt: startedAt,
                finishedAt: finishedAt)
            {
                event.revision = revision
                await postIfChanged(event)
            }
        case .refused:
            if var event = NotificationEvent.pruneBlocked(
                command: "reconcile", plan: report.lastPlan, policy: policy, declaresFiles: declaresFiles,
                startedAt: startedAt, finishedAt: finishedAt)
            {
                event.revision = revision
                await postIfChanged(event)
            }
        }
    }

    /// After an apply pass: `stalled` when actions failed, `prune-blocked` when the deletion guard refused.
    public func applyEnded(
        _ result: ApplyPassResult, policy: PlanPolicy, declaresFiles: Bool, revision: String?, startedAt: Double?,
        finishedAt: Double
    ) async {
        if let report = result.report, !report.failed.isEmpty,
            var event = NotificationEvent.stalled(
                command: "apply",
                unconverged: UnconvergedPlacement.list(
                    plan: result.remaining ?? result.plan, failures: report.failed, rounds: 1),
                applied: report.applied.count, startedAt: startedAt, finishedAt: finishedAt)
        {
            event.revision = revision
            await postIfChanged(event)
        } else if result.outcome == .refused, result.declined == nil,
            var event = NotificationEvent.pruneBlocked(
                command: "apply", plan: result.plan, policy: policy, declaresFiles: declaresFiles,
                startedAt: startedAt, finishedAt: finishedAt)
        {
            event.revision = revision
            await postIfChanged(event)
        }
    }
}
