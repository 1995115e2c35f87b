import FerryCore
import FerryProviders
import FerryStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The outcome of a converge pass.
public struct ReconcileReport: Sendable {
    public enum Outcome: String, Sendable {
        case converged
        case notConverged = "not-converged"
        case refused
    }

    public var outcome: Outcome
    /// Rounds of observe → plan (→ apply).
    public var rounds: Int
    /// The last plan computed: empty when converged, else what is still to do.
    public var lastPlan: Plan
    public var applied: Int
    public var failures: [(action: PlannedAction, message: String)]
    /// Provider requests sent during the pass.
    public var requests: Int
    /// List requests (pages) sent during the pass.
    public var listPages: Int
}

extension Engine {
    /// observe → plan → apply, repeated until nothing is left to do or `maxRounds` applies have run.
    /// A refused plan (deletion guard) applies nothing.
    public func reconcile(_ inputs: LoadedInputs, maxRounds: Int = 5, run: Int64? = nil) async throws
        -> ReconcileReport
    {
        var applied = 0
        var failures: [(action: PlannedAction, message: String)] = []
        var pages = 0
        var round = 0
        while true {
            round += 1
            report(.round(round))
            let observed = try await observe(inputs)
            pages += observed.pages
            let plan = try self.plan(inputs, observed)
            if !plan.blocked.isEmpty {
                return ReconcileReport(
                    outcome: .refused, rounds: round, lastPlan: plan, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages)
            }
            if plan.isEmpty {
                return ReconcileReport(
                    outcome: plan.hasUnknownEndpoints ? .notConverged : .converged, rounds: round, lastPlan: plan,
                    applied: applied, failures: failures, requests: requestCount(), listPages: pages)
            }
            if round > maxRounds {
                return ReconcileReport(
                    outcome: .notConverged, rounds: round, lastPlan: plan, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages)
            }
            let applyStart = ContinuousClock.now
            let result = await apply(plan, inputs: inputs, run: run)
            counters.add("apply", since: applyStart)
            applied += result.applied.count
            // Keep only the latest failure per placement: earlier ones may have been fixed by a later round.
            for failure in result.failed {
                failures.removeAll { $0.action.placement == failure.action.placement }
                failures.append(failure)
            }
            for done in result.applied { failures.removeAll { $0.action.placement == done.placement } }
            if result.applied.isEmpty {
                // No progress: every remaining action failed. Report what is left instead of spinning.
                let observedAgain = try await observe(inputs)
                pages += observedAgain.pages
                let remaining = try self.plan(inputs, observedAgain)
                return ReconcileReport(
                    outcome: remaining.isEmpty && !remaining.hasUnknownEndpoints ? .converged : .notConverged,
                    rounds: round + 1, lastPlan: remaining, applied: applied, failures: failures,
                    requests: requestCount(), listPages: pages)
            }
        }
    }
}

/// The single-writer lease, held in the state store and renewed while work runs.
public final class WriterLease: Sendable {
    public let holder: String
    let store: StateStore
    let ttl: Double
    let heartbeat: Task<Void, Never>

    /// A lease holder name: host, process id and a random suffix.
    public static func makeHolderName() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host) pid \(ProcessInfo.processInfo.processIdentifier) #\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Takes the lease, waiting up to `wait` seconds for another holder to finish or expire.
    /// - Throws: `EngineError` naming the holder when it cannot be taken in time.
    public static func acquire(
        store: StateStore, ttl: Double = 30, wait: Double = 0, now: @escaping @Sendable () -> Double = {
            Date().timeIntervalSince1970
        }
    ) async throws -> WriterLease {
        let holder = makeHolderName()
        let deadline = now() + wait
        while true {
            guard let current = try store.acquireLease(holder: holder, ttl: ttl, now: now(), isAbandoned: isDeadLocalProcess)
            else {
                return WriterLease(holder: holder, store: store, ttl: ttl, now: now)
            }
            if now() >= deadline {
                let expires = Date(timeIntervalSince1970: current.expiresAt)
                throw EngineError(
                    "another Ferry run holds the state lock (\(current.holder), until \(expires) unless renewed); "
                        + "wait for it, or pass --lock-timeout to wait longer")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// True when the holder ran on this host and its process no longer exists (it was killed or crashed),
    /// so waiting for the lease to expire would only delay the next run.
    static func isDeadLocalProcess(_ lease: LeaseHolder) -> Bool {
        let parts = lease.holder.split(separator: " ")
        guard parts.count >= 3, parts[1] == "pid", String(parts[0]) == ProcessInfo.processInfo.hostName,
            let pid = Int32(parts[2]), pid > 0
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    init(holder: String, store: StateStore, ttl: Double, now: @escaping @Sendable () -> Double) {
        self.holder = holder
        self.store = store
        self.ttl = ttl
        self.heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(ttl / 3))
                if Task.isCancelled { break }
                _ = try? store.renewLease(holder: holder, ttl: ttl, now: now())
            }
        }
    }

    /// Stops renewing and frees the lease.
    public func release() {
        heartbeat.cancel()
        try? store.releaseLease(holder: holder)
    }
}
