import ArgumentParser
import FerryCore
import FerryEngine
import FerryServer
import FerryStore
import Foundation

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
        guard let interval = interval.flatMap(parseDuration) else {
            try await withRuntime(options, policy: guards.policy, parallelism: parallel.effective) { runtime in try await pass(runtime) }
            return
        }
        let shutdown = ShutdownSignal()
        let console = Console(noColor: options.noColor)
        // The status view reads the same database the passes write, in the same process.
        var server: StatusServer?
        if let listen {
            let (host, port) = try StatusServerConfiguration.parseListen(listen)
            let store = try StateStore(path: options.state)
            let status = StatusServer(
                store: store,
                configuration: StatusServerConfiguration(
                    host: host, port: port, bearerToken: ProcessInfo.processInfo.environment["FERRY_STATUS_TOKEN"]))
            let bound = try await status.start()
            console.err("Status view on http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
            server = status
        }
        var failures = 0
        while !shutdown.isTriggered {
            var code: Int32 = 0
            do {
                try await withRuntime(options, policy: guards.policy, parallelism: parallel.effective) { runtime in try await pass(runtime) }
            } catch let exit as ExitCode {
                code = exit.rawValue
            }
            failures = code == 0 ? 0 : failures + 1
            // Back off after failures (doubling, up to 8 intervals); jitter spreads many reconcilers apart.
            let factor = Double(1 << min(failures, 3)) * Double.random(in: 0.9...1.1)
            let wait = interval * factor
            console.err("Next pass in \(wait.formatted(.units(allowed: [.hours, .minutes, .seconds], width: .narrow))).")
            if await shutdown.sleep(for: wait) { break }
        }
        await server?.stop()
        console.err("Received \(shutdown.signalName); stopped after the last complete pass.")
    }

    /// One converge pass: lock, load, reconcile, record, report.
    func pass(_ runtime: Runtime) async throws -> Int32 {
        let inputs = try await loadInputs(runtime)
        let lease = try await WriterLease.acquire(store: runtime.store, wait: lockTimeout)
        defer { lease.release() }
        let started = runtime.now
        let run = try runtime.store.startRun(command: "reconcile", at: started)
        let report = try await runtime.engine.reconcile(inputs, maxRounds: maxRounds, run: run)
        let seconds = (runtime.now - started).formatted(.number.precision(.fractionLength(2)))
        let line: String
        switch report.outcome {
        case .converged:
            line = "Converged in \(report.rounds) round(s), \(seconds)s: \(report.applied) action(s) applied, "
                + "\(report.requests) request(s) (\(report.listPages) list page(s)). \(report.lastPlan.summaryLine)"
        case .notConverged:
            let unconverged = report.unconverged
            let failing = unconverged.filter { $0.cause == .failed }.count
            let unchecked = unconverged.filter { $0.cause == .notChecked }.count
            line = "Not converged after \(report.rounds) round(s), \(seconds)s: \(unconverged.count) placement(s) not converged "
                + "(\(failing) failing, \(unchecked) on endpoints that could not be listed). " + report.lastPlan.summaryLine
        case .refused:
            line = "Refused: " + report.lastPlan.blocked.joined(separator: "; ")
        }
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
        runtime.console.err(line)
        try runtime.store.finishRun(
            run, outcome: report.outcome.rawValue, summary: line, applied: report.applied,
            failed: report.failures.count, requests: report.requests, at: runtime.now)
        return report.outcome == .converged ? 0 : 1
    }
}
