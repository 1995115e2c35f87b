import Crypto
import FerryCore
import FerryProviders
import Foundation
import Logging

/// How long a placement whose action keeps failing waits before the next attempt: `base`, doubled per failure in a
/// row, capped at `cap`, with a random ±`jitter` so that placements failing together do not retry together.
/// Independent of the reconcile interval.
public struct BackoffPolicy: Sendable, Hashable {
    /// The wait after the first failure.
    public var base: Duration
    /// The longest wait.
    public var cap: Duration
    /// Fraction of the wait added or removed at random (0.1: ±10 %).
    public var jitter: Double

    public init(base: Duration = .seconds(30), cap: Duration = .seconds(3600), jitter: Double = 0.1) {
        self.base = base
        self.cap = cap < base ? base : cap
        self.jitter = min(max(jitter, 0), 1)
    }

    /// Seconds to wait after `failures` failures in a row (1-based), before jitter: `min(cap, base · 2^(failures-1))`.
    public func seconds(afterFailures failures: Int) -> Double {
        let base = Self.seconds(self.base)
        let grown = base * pow(2, Double(min(max(failures - 1, 0), 40)))
        return min(grown, Self.seconds(cap))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A placement waiting out its backoff: what the status view and the pass output show.
public struct PlacementRetry: Sendable, Hashable {
    public var file: String
    public var endpointID: String
    /// The action that failed (`create`, `replace`, `delete`).
    public var action: PlannedAction.Kind
    /// Failures in a row.
    public var failures: Int
    /// Unix seconds before which the action is not attempted again.
    public var nextAttemptAt: Double
    /// The last failure, as reported.
    public var lastError: String
    /// Whether the provider named the wait itself (`Retry-After` longer than the client waits in place).
    public var providerAsked: Bool

    public var placement: PlacementKey { PlacementKey(file: file, endpointID: endpointID) }

    /// `2026-11-30T15:42:10Z`.
    public var nextAttemptText: String { FerryClock.iso8601(nextAttemptAt.rounded(.up)) }

    /// `retrying at 2026-11-30T15:42:10Z (3 failures; last: HTTP 400 …)`.
    public var description: String {
        "retrying at \(nextAttemptText) (\(failures) failure\(failures == 1 ? "" : "s")"
            + (providerAsked ? ", as the provider asked" : "") + "; last: \(lastError))"
    }
}

/// The in-memory book of placements whose provider action keeps failing, shared by every pass of one process
/// (`reconcile --interval`): a placement that failed is not attempted again before its backoff ends, while its
/// endpoint is still listed every pass. An entry is dropped when the action succeeds, when the placement no longer
/// needs a provider action, or when its declaration or source content changes (each entry remembers a fingerprint
/// of the desired file's digest and declaration, and the action).
///
/// Not persisted: a new process starts with an empty book (the store's schema is unchanged).
public final class PlacementBackoff: @unchecked Sendable {
    public let policy: BackoffPolicy
    private let random: @Sendable () -> Double
    private let lock = NSLock()
    private var entries: [PlacementKey: (retry: PlacementRetry, fingerprint: String)] = [:]

    /// - Parameter random: a number in `-1...1` per scheduled retry, scaled by the policy's jitter (tests fix it).
    public init(policy: BackoffPolicy = BackoffPolicy(), random: @escaping @Sendable () -> Double = { .random(in: -1...1) })
    {
        self.policy = policy
        self.random = random
    }

    /// The entry holding `action` back at `now`, or nil when it may run. An entry recorded for another fingerprint
    /// (the declaration or the content changed) is dropped.
    public func deferral(for action: PlannedAction, fingerprint: String, now: Double) -> PlacementRetry? {
        lock.withLock {
            guard let entry = entries[action.placement] else { return nil }
            guard entry.fingerprint == fingerprint else {
                entries[action.placement] = nil
                return nil
            }
            return now < entry.retry.nextAttemptAt ? entry.retry : nil
        }
    }

    /// Records a failure of `action`; returns when it may be attempted again.
    /// - Parameter retryAfter: seconds the provider asked to wait; the next attempt is not before it.
    @discardableResult
    public func recordFailure(
        _ action: PlannedAction, fingerprint: String, message: String, retryAfter: Double?, now: Double
    ) -> PlacementRetry {
        lock.withLock {
            let previous = entries[action.placement].flatMap { $0.fingerprint == fingerprint ? $0.retry : nil }
            let failures = (previous?.failures ?? 0) + 1
            var wait = policy.seconds(afterFailures: failures) * (1 + policy.jitter * min(max(random(), -1), 1))
            var asked = false
            if let retryAfter, retryAfter > wait {
                wait = retryAfter
                asked = true
            }
            let retry = PlacementRetry(
                file: action.file, endpointID: action.endpointID, action: action.kind, failures: failures,
                nextAttemptAt: now + wait, lastError: message, providerAsked: asked)
            entries[action.placement] = (retry, fingerprint)
            return retry
        }
    }

    /// The action succeeded: its placement starts afresh.
    public func recordSuccess(_ placement: PlacementKey) {
        _ = lock.withLock { entries.removeValue(forKey: placement) }
    }

    /// Drops entries of placements that no longer need a provider action (in sync, or gone).
    public func retain(only placements: Set<PlacementKey>) {
        lock.withLock { entries = entries.filter { placements.contains($0.key) } }
    }

    /// Every placement in the book, sorted by file then endpoint.
    public func snapshot() -> [PlacementRetry] {
        lock.withLock { entries.values.map(\.retry) }.sorted { ($0.file, $0.endpointID) < ($1.file, $1.endpointID) }
    }

    /// The earliest time a placement in the book may be attempted again; nil when the book is empty.
    public func nextAttemptAt() -> Double? {
        lock.withLock { entries.values.map(\.retry.nextAttemptAt).min() }
    }

    /// The key of an action's situation: the action, the content it uploads, the file it deletes, and the whole
    /// declaration of its file. A change to any of them starts the backoff afresh.
    public static func fingerprint(_ action: PlannedAction, declaration: DesiredFile?) -> String {
        var text = [
            action.kind.rawValue, action.digest ?? "", action.remoteID ?? "", action.replaces.joined(separator: ","),
            action.filename ?? "", action.purpose ?? "",
        ].joined(separator: "|")
        if let declaration {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            text += "|" + ((try? encoder.encode(declaration)).map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Seconds a provider asked to wait, when the failure carries one (`Retry-After` beyond what the client waits).
    static func retryAfter(of error: any Error) -> Double? {
        guard let error = error as? ProviderError, case .retryable(let after?) = error.classification else {
            return nil
        }
        return BackoffPolicy.seconds(after)
    }
}

/// A provider action the apply skipped because its placement is waiting out its backoff.
public struct DeferredAction: Sendable {
    public var action: PlannedAction
    public var retry: PlacementRetry
}

extension Engine {
    /// Splits provider actions into those to run now and those whose placement waits out its backoff (reported as
    /// events); drops book entries of placements that need no provider action any more.
    func deferrals(_ actions: [PlannedAction], backoff: PlacementBackoff, inputs: LoadedInputs)
        -> (run: [PlannedAction], deferred: [DeferredAction])
    {
        backoff.retain(only: Set(actions.map(\.placement)))
        let now = clock.now()
        let declarations = Dictionary(inputs.desired.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var run: [PlannedAction] = []
        var deferred: [DeferredAction] = []
        for action in actions {
            let fingerprint = PlacementBackoff.fingerprint(action, declaration: declarations[action.file])
            if let retry = backoff.deferral(for: action, fingerprint: fingerprint, now: now) {
                deferred.append(DeferredAction(action: action, retry: retry))
                logger.info(
                    "\(action.kind.rawValue) deferred", metadata: metadata(action).merging(
                        ["ferry.retry_at": .string(retry.nextAttemptText)], uniquingKeysWith: { $1 }))
                report(.actionDeferred(action, retry))
            } else {
                run.append(action)
            }
        }
        return (run, deferred)
    }

    /// Books a failed provider action, when this engine keeps a backoff book.
    func recordBackoff(_ action: PlannedAction, error: any Error, message: String, inputs: LoadedInputs) {
        guard let backoff = configuration.backoff else { return }
        let retry = backoff.recordFailure(
            action, fingerprint: PlacementBackoff.fingerprint(action, declaration: declaration(of: action, inputs)),
            message: message, retryAfter: PlacementBackoff.retryAfter(of: error), now: clock.now())
        logger.info(
            "\(action.kind.rawValue) backing off",
            metadata: metadata(action).merging(
                ["ferry.retry_at": .string(retry.nextAttemptText), "ferry.failures": .stringConvertible(retry.failures)],
                uniquingKeysWith: { $1 }))
    }

    private func declaration(of action: PlannedAction, _ inputs: LoadedInputs) -> DesiredFile? {
        inputs.desired.files.first { $0.name == action.file }
    }
}
