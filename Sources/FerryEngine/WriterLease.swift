import FerryCore
import FerryStore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The single-writer lease (invariant 6), held in the state store and renewed by a heartbeat while work runs.
public final class WriterLease: Sendable {
    /// Who holds it: host, process id, a random suffix and the command (`WriterLease.makeHolderName`).
    public let holder: String
    let store: any StateStore
    let ttl: Double
    let heartbeat: Task<Void, Never>

    /// A lease holder name: `HOST pid PID #RANDOM COMMAND`, e.g. `ci-runner-7 pid 4121 #3902 ferry reconcile`.
    /// Host and pid let a run on the same host take over from a dead process at once; the command is shown by
    /// `ferry state lock`.
    public static func makeHolderName() -> String {
        let info = ProcessInfo.processInfo
        let arguments = info.arguments
        var command = arguments.first.map { ($0 as NSString).lastPathComponent } ?? "ferry"
        if arguments.count > 1, !arguments[1].hasPrefix("-") { command += " " + arguments[1] }
        let host = info.hostName.replacingOccurrences(of: " ", with: "-")
        return "\(host) pid \(info.processIdentifier) #\(UInt32.random(in: 0...UInt32.max)) \(command)"
    }

    /// Takes the lease, waiting up to `wait` seconds for another holder to finish or expire.
    /// - Throws: `EngineError.Code.lockHeld` naming the holder when it cannot be taken in time.
    public static func acquire(
        store: any StateStore, ttl: Double = 30, wait: Double = 0, clock: FerryClock = .system
    ) async throws -> WriterLease {
        let holder = makeHolderName()
        let deadline = clock.now() + wait
        while true {
            guard
                let current = try store.acquireLease(
                    holder: holder, ttl: ttl, now: clock.now(), isAbandoned: isDeadLocalProcess)
            else {
                return WriterLease(holder: holder, store: store, ttl: ttl, clock: clock)
            }
            if clock.now() >= deadline {
                let since = Date(timeIntervalSince1970: current.acquiredAt)
                let expires = Date(timeIntervalSince1970: current.expiresAt)
                throw EngineError(
                    .lockHeld,
                    "another Ferry run holds the state lock (\(current.holder), since \(since), until \(expires) "
                        + "unless renewed); wait for it, pass --lock-timeout to wait longer, or run 'ferry state "
                        + "unlock' if that run is gone")
            }
            try await clock.sleep(for: .milliseconds(250))
        }
    }

    /// True when the holder ran on this host and its process no longer exists (it was killed or crashed),
    /// so waiting for the lease to expire would only delay the next run.
    /// A holder on another host is never probed: its pid means nothing here, so only expiry frees its lease.
    static func isDeadLocalProcess(_ lease: LeaseHolder) -> Bool {
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: " ", with: "-")
        guard lease.host == host, let pid = lease.pid, pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    init(holder: String, store: any StateStore, ttl: Double, clock: FerryClock) {
        self.holder = holder
        self.store = store
        self.ttl = ttl
        self.heartbeat = Task {
            while !Task.isCancelled {
                try? await clock.sleep(for: .seconds(ttl / 3))
                if Task.isCancelled { break }
                _ = try? store.renewLease(holder: holder, ttl: ttl, now: clock.now())
            }
        }
    }

    /// Stops renewing and frees the lease.
    public func release() {
        heartbeat.cancel()
        try? store.releaseLease(holder: holder)
    }
}
