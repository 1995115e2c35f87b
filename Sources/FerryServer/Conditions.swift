import FerryCore
import FerryStore

/// One kstatus-style condition of a declared file (or of the whole workspace): `Ready` (normal-true polarity) and
/// `Reconciling` and `Stalled` (abnormal-true polarity: `True` means something needs attention or is under way).
/// See docs/status-view.md, "Conditions".
public struct StatusCondition: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case ready = "Ready"
        case reconciling = "Reconciling"
        case stalled = "Stalled"
    }

    public enum Status: String, Sendable {
        case `true` = "True"
        case `false` = "False"
        case unknown = "Unknown"
    }

    public var type: Kind
    public var status: Status
    /// CamelCase, stable: tooling may match on it (`InSync`, `CreateFailed`, `ListFailed`, `ProgressingWithRetry`…).
    public var reason: String
    /// For people; free text from the store in it is redacted by the caller.
    public var message: String
    /// When the condition last changed status; nil because Ferry keeps no history of conditions.
    public var lastTransitionTime: Double?

    public init(type: Kind, status: Status, reason: String, message: String, lastTransitionTime: Double? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}

/// What the conditions of a file are computed from: one of its placements that is not in sync.
public struct ConditionPlacement: Hashable, Sendable {
    /// How to name the endpoint in messages.
    public var endpoint: String
    /// The planner's state; `.inSync` placements are only counted (`Conditions.evaluate(inSync:others:context:)`).
    public var state: PlacementStatus.State
    /// The pending action (`create`, `replace`, `delete`…), when the plan has one.
    public var pendingAction: String?
    /// The placement's last failure, kept until it succeeds.
    public var failure: Failure?
    /// Why the endpoint's last listing failed (the placement is then `unknown`).
    public var listingError: String?

    public struct Failure: Hashable, Sendable {
        public var action: String
        public var message: String
        public var attempts: Int
        /// The provider's answer was classified terminal: it fails the same way until something changes, so
        /// retrying cannot help.
        public var terminal: Bool

        public init(action: String, message: String, attempts: Int, terminal: Bool = false) {
            self.action = action
            self.message = message
            self.attempts = attempts
            self.terminal = terminal
        }

        /// Whether a stored failure message carries the terminal classification (`ProviderError`'s description
        /// ends with `; terminal`).
        public static func isTerminal(_ message: String) -> Bool { message.hasSuffix("; terminal") }
    }

    public init(
        endpoint: String, state: PlacementStatus.State, pendingAction: String? = nil, failure: Failure? = nil,
        listingError: String? = nil
    ) {
        self.endpoint = endpoint
        self.state = state
        self.pendingAction = pendingAction
        self.failure = failure
        self.listingError = listingError
    }
}

/// What the conditions depend on beyond the placements.
public struct ConditionContext: Hashable, Sendable {
    /// A writing pass (apply, reconcile, import) holds the writer lease now, so failures may still be retried.
    public var passInProgress: Bool
    /// A failing placement is Stalled from this many attempts on, even while a pass is in progress.
    public var stallAttempts: Int

    public init(passInProgress: Bool, stallAttempts: Int = Conditions.defaultStallAttempts) {
        self.passInProgress = passInProgress
        self.stallAttempts = stallAttempts
    }
}

/// kstatus-style conditions, computed from the latest snapshot alone (a pure function; no history is kept).
///
/// - Ready=True only when every placement is in sync; Unknown when the only placements not in sync are on endpoints
///   that could not be listed; else False, with the reason of the Stalled or Reconciling condition that is True.
/// - Stalled=True when a placement failed (its last attempt recorded an error) or its endpoint could not be listed,
///   and either no pass is in progress to retry it (the last pass gave up), or it failed `stallAttempts` times or
///   more, or its failure was terminal (retrying cannot help); also when the file has no placement at all (no
///   target model has a files endpoint).
/// - Reconciling=True when a change is pending and not stalled: `Progressing` (a pass is applying it),
///   `ProgressingWithRetry` (a pass is retrying a failure), `Processing` (the provider is processing the file),
///   `OutOfSync` (waiting for the next apply or reconcile).
///
/// Stalled and Reconciling are never both True. All three conditions are always present, in that order: Ready,
/// Reconciling, Stalled.
public enum Conditions {
    public static let defaultStallAttempts = 3

    /// - Parameters:
    ///   - inSync: how many of the placements are in sync.
    ///   - others: the placements that are not in sync, in the order messages should name them.
    public static func evaluate(inSync: Int, others: [ConditionPlacement], context: ConditionContext)
        -> [StatusCondition]
    {
        let total = inSync + others.count
        func make(ready: StatusCondition.Status, reconciling: Bool, stalled: Bool, reason: String, message: String)
            -> [StatusCondition]
        {
            [
                StatusCondition(type: .ready, status: ready, reason: reason, message: message),
                StatusCondition(
                    type: .reconciling, status: reconciling ? .true : .false, reason: reason,
                    message: reconciling ? message : ""),
                StatusCondition(
                    type: .stalled, status: stalled ? .true : .false, reason: reason, message: stalled ? message : ""),
            ]
        }
        if total == 0 {
            return make(
                ready: .false, reconciling: false, stalled: true, reason: "NoPlacement",
                message: "no target model has a files endpoint, so the file is placed nowhere")
        }
        let counted = "\(inSync) of \(total) placement\(total == 1 ? "" : "s") in sync"
        if others.isEmpty {
            return make(ready: .true, reconciling: false, stalled: false, reason: "InSync", message: counted)
        }
        // Failing: the last attempt failed, or nothing can be done without a listing.
        let blocked = others.filter { $0.failure != nil || $0.state == .unknown }
        let stalled = blocked.filter {
            !context.passInProgress || ($0.failure?.attempts ?? 0) >= context.stallAttempts
                || $0.failure?.terminal == true
        }
        let readyStatus: StatusCondition.Status =
            others.allSatisfy { $0.state == .unknown && $0.failure == nil } ? .unknown : .false
        if let first = stalled.first {
            return make(
                ready: readyStatus, reconciling: false, stalled: true, reason: reason(first),
                message: counted + "; " + describe(stalled))
        }
        let progress: String
        if !blocked.isEmpty {
            progress = "ProgressingWithRetry"
        } else if context.passInProgress {
            progress = "Progressing"
        } else if others.allSatisfy({ $0.state == .processing }) {
            progress = "Processing"
        } else {
            progress = "OutOfSync"
        }
        var message = counted + "; " + describe(others)
        if progress == "OutOfSync" { message += "; waiting for 'ferry apply' or 'ferry reconcile'" }
        return make(ready: readyStatus, reconciling: true, stalled: false, reason: progress, message: message)
    }

    /// The conditions when every placement is known (one file's, say): splits them into in sync and the others.
    public static func evaluate(_ placements: [ConditionPlacement], context: ConditionContext) -> [StatusCondition] {
        let others = placements.filter { $0.state != .inSync }
        return evaluate(inSync: placements.count - others.count, others: others, context: context)
    }

    /// `CreateFailed`, `ExpireIntentFailed`, `ListFailed`.
    static func reason(_ placement: ConditionPlacement) -> String {
        if placement.state == .unknown { return "ListFailed" }
        guard let failure = placement.failure else { return "OutOfSync" }
        let words = failure.action.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        let camel = words.map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined()
        return (camel.isEmpty ? "Action" : camel) + "Failed"
    }

    /// Placements named in one message at most; the rest are counted.
    public static let namedInMessage = 5

    /// The first `namedInMessage` placements, then how many more.
    static func describe(_ placements: [ConditionPlacement]) -> String {
        var text = placements.prefix(namedInMessage).map(describe).joined(separator: "; ")
        if placements.count > namedInMessage { text += "; and \(placements.count - namedInMessage) more" }
        return text
    }

    static func describe(_ placement: ConditionPlacement) -> String {
        if placement.state == .unknown {
            return "\(placement.endpoint) could not be listed: \(placement.listingError ?? "no successful listing")"
        }
        if let failure = placement.failure {
            let times = failure.attempts == 1 ? "once" : "\(failure.attempts) times"
            return "\(failure.action) on \(placement.endpoint) failed \(times): \(failure.message)"
        }
        if placement.state == .processing { return "\(placement.endpoint) is processing the file" }
        return "\(placement.pendingAction ?? "change") pending on \(placement.endpoint)"
    }
}

/// The revisions the status view reports: which manifests the shown state reflects, and what was last applied.
public struct RevisionStatus: Hashable, Sendable {
    /// The revision of the run that stored the latest snapshot (the state every file's conditions describe).
    public var observed: String?
    /// The run that stored the latest snapshot.
    public var observedRunID: Int64?
    /// The revision of the latest `apply` or `reconcile` that converged.
    public var lastApplied: String?
    /// When that run finished.
    public var lastAppliedAt: Double?
    /// The revision of the latest `apply` or `reconcile`, whatever its outcome (also while it runs).
    public var lastAttempted: String?

    public init(
        observed: String? = nil, observedRunID: Int64? = nil, lastApplied: String? = nil,
        lastAppliedAt: Double? = nil, lastAttempted: String? = nil
    ) {
        self.observed = observed
        self.observedRunID = observedRunID
        self.lastApplied = lastApplied
        self.lastAppliedAt = lastAppliedAt
        self.lastAttempted = lastAttempted
    }

    /// Commands that apply the manifests.
    static let applyingCommands: Set<String> = ["apply", "reconcile"]
    /// Commands whose runs store no snapshot.
    static let snapshotlessCommands: Set<String> = ["drift"]

    /// - Parameters:
    ///   - runs: recorded runs, newest first.
    ///   - snapshotAt: when the latest snapshot was stored. The snapshot belongs to the newest run that started
    ///     before it (runs store it before they finish, one writer at a time).
    public init(runs: [RunRecord], snapshotAt: Double?) {
        self.init()
        if let snapshotAt,
            let run = runs.first(where: {
                !Self.snapshotlessCommands.contains($0.command) && $0.startedAt <= snapshotAt + 0.001
            })
        {
            observed = run.revision
            observedRunID = run.id
        }
        lastAttempted = runs.first { Self.applyingCommands.contains($0.command) }?.revision
        if let applied = runs.first(where: { Self.applyingCommands.contains($0.command) && $0.outcome == "converged" })
        {
            lastApplied = applied.revision
            lastAppliedAt = applied.finishedAt
        }
    }
}
