import ArgumentParser
import FerryCore
import FerryEngine
import FerryServer
import FerryStore
import Foundation
import Logging
import ServiceLifecycle

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "One converge pass for cron: observe, plan, apply, observe again until nothing is left.",
        discussion: """
            Safe when two runs overlap: the state lock lets one write at a time (the other waits --lock-timeout,
            then exits 1). Exit codes: 0 converged; 1 not converged (the failing placements are printed),
            refused by a guard, or an error.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var guards: GuardOptions
    @OptionGroup var parallel: ParallelismOption
    @OptionGroup var notify: NotifyOptions
    @OptionGroup var backoffOptions: BackoffOptions

    @Option(name: .long, help: "Most apply rounds before giving up (default 5).")
    var maxRounds: Int = 5

    @Option(name: .long, help: "Seconds to wait for another run holding the state lock (default 0).")
    var lockTimeout: Double = 0

    @Option(name: .short, help: "Output format for the final report: text or json.")
    var output: OutputFormat = .text

    @Option(
        name: .long,
        help: "Keep reconciling every DURATION (e.g. 30s, 5m) until SIGTERM/SIGINT, with ±10% jitter and backoff after failures.")
    var interval: String?

    @Option(name: .long, help: "With --interval, also serve the read-only status view on HOST:PORT (e.g. 127.0.0.1:8080).")
    var listen: String?

    func validate() throws {
        guard maxRounds >= 1 else { throw ValidationError("--max-rounds must be at least 1") }
        if let listen {
            guard interval != nil else { throw ValidationError("--listen needs --interval") }
            do { _ = try StatusServerConfiguration.parseListen(listen) } catch { throw ValidationError("\(error)") }
        }
        if let interval, parseDuration(interval) == nil {
            throw ValidationError("--interval must be a duration such as 30s, 5m or 1h")
        }
    }

    func run() async throws {
        let notifier = try notify.makeNotifier(options, console: Console(noColor: options.noColor))
        guard let interval = interval.flatMap(parseDuration) else {
            try await withRuntime(options, policy: guards.policy, parallelism: parallel.effective) { runtime in
                try await pass(runtime, notifier: notifier)
            }
            return
        }
        // One backoff book for every pass of this process: a failing placement waits out its own backoff.
        let backoff = PlacementBackoff(policy: backoffOptions.policy)
        let console = Console(noColor: options.noColor)
        // Passes further apart than the refresh margin can miss the window in which an expiring copy is replaced.
        let margin = try options.refreshMarginSeconds()
        if margin > 0, interval >= .seconds(margin) {
            console.err(
                "warning: --interval \(self.interval ?? "") is not shorter than --refresh-before-expiry "
                    + "\(options.refreshBeforeExpiry): a file the provider deletes by itself (Gemini after 48h) can lapse "
                    + "between passes; use a shorter interval or a larger margin")
        }
        bootstrapLogging(level: options.logLevel)
        let logger = Logger(label: "ferry")
        var services: [any Service] = []
        // The status view reads the same database the passes write, in the same process.
        let status = try listen.map { listen in
            let (host, port) = try StatusServerConfiguration.parseListen(listen)
            return StatusServer(
                store: try options.openStore(),
                configuration: Self.statusConfiguration(host: host, port: port, backoff: backoff))
        }
        if let status { services.append(status) }
        services.append(
            ReconcileService(
                interval: interval, logger: logger,
                willWait: { wait in
                    console.err(
                        "Next pass in \(wait.formatted(.units(allowed: [.hours, .minutes, .seconds], width: .narrow))).")
                },
                prepare: {
                    // The status view answers before the first pass starts writing the state it shows.
                    if let status, let listen {
                        let bound = try await status.listeningPort()
                        let host = try StatusServerConfiguration.parseListen(listen).host
                        console.err("Status view on http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
                    }
                },
                nextRetryAt: { backoff.nextAttemptAt() },
                pass: { [options, guards, parallel] in
                    do {
                        try await withRuntime(
                            options, policy: guards.policy, parallelism: parallel.effective, backoff: backoff
                        ) { runtime in try await pass(runtime, standBy: true, notifier: notifier) }
                        return .succeeded
                    } catch let exit as ExitCode where exit.rawValue == Self.standingBy {
                        return .standby
                    } catch let exit as ExitCode where exit.rawValue == Self.backingOff {
                        return .backingOff
                    } catch {
                        return .failed
                    }
                }))
        try await runServices(services, logger: logger)
        console.err("Stopped after the last complete pass.")
    }

    /// The exit code of a pass that found the state lock held by another replica (`EX_TEMPFAIL`); only used
    /// between a pass and the loop, never as the process's exit code.
    static let standingBy: Int32 = 75

    /// The exit code of a loop pass that did not converge only because every placement left waits out its own
    /// backoff; like `standingBy`, only between a pass and the loop.
    static let backingOff: Int32 = 76

    /// The status view of `--listen`, showing the loop's backoff book with the placements.
    static func statusConfiguration(host: String, port: Int, backoff: PlacementBackoff) -> StatusServerConfiguration {
        var configuration = StatusServerConfiguration(
            host: host, port: port, bearerToken: ProcessInfo.processInfo.environment["FERRY_STATUS_TOKEN"])
        configuration.retries = {
            backoff.snapshot().map {
                PlacementRetryStatus(
                    file: $0.file, endpointID: $0.endpointID, action: $0.action.rawValue, failures: $0.failures,
                    nextAttemptAt: $0.nextAttemptAt, providerAsked: $0.providerAsked)
            }
        }
        return configuration
    }

    /// One converge pass; prints its report and returns the exit code.
    /// - Parameter standBy: in the `--interval` loop, a lock held by another replica is not an error: say so and
    ///   return `standingBy`.
    func pass(_ runtime: Runtime, standBy: Bool = false, notifier: Notifier? = nil) async throws -> Int32 {
        let result: ReconcilePassResult
        let started = Date().timeIntervalSince1970
        do {
            result = try await runtime.engine.reconcilePass(
                validated: runtime.manifests, maxRounds: maxRounds, lockTimeout: lockTimeout)
        } catch let error as EngineError where standBy && error.code == .lockHeld {
            let holder = (try? runtime.store.leaseHolder())??.holder ?? "another run"
            runtime.console.err("Standing by: \(holder) holds the state lock; trying again after the interval.")
            return Self.standingBy
        }
        let report = result.report
        if output == .json {
            try runtime.printPlan(report.lastPlan, format: .json, stats: runtime.engine.stats())
        } else if report.outcome != .converged {
            try runtime.printPlan(report.lastPlan, format: .text)
        }
        // Each placement that did not converge, and why (its failure, or its endpoint's listing error).
        for placement in report.unconverged { runtime.console.error(placement.line) }
        if report.outcome == .refused {
            for (action, message) in report.failures {
                runtime.console.error("\(action.kind.rawValue) \(action.file) on \(action.endpointID): \(message)")
            }
        }
        runtime.console.err(result.summary)
        await notifier?.reconcileEnded(
            report, policy: runtime.engine.configuration.policy,
            declaresFiles: !runtime.manifests.desired.files.isEmpty,
            revision: runtime.engine.configuration.revision, startedAt: started,
            finishedAt: Date().timeIntervalSince1970)
        if standBy, report.outcome == .notConverged, !report.backoff.isEmpty {
            // Every placement left waits out its own backoff: the loop keeps its pace for the others.
            let waiting = Set(report.backoff.map(\.placement))
            if report.unconverged.allSatisfy({ waiting.contains(PlacementKey(file: $0.file, endpointID: $0.endpointID)) }) {
                return Self.backingOff
            }
        }
        let code: Int32 = report.outcome == .converged ? 0 : 1
        // The last plan (a status per placement) is freed on another thread: a process that ends now does not wait.
        Parallel.release((consume result, consume report))
        return code
    }
}
