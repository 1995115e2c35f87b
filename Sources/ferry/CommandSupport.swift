import ArgumentParser
import FerryCore
import FerryEngine
import FerryStore
import Foundation

/// Runs a command body with a runtime, maps failures to messages and exit codes, and always shuts down.
func withRuntime(
    _ options: GlobalOptions, policy: PlanPolicy, progress: Bool = true, environment: [String: String]? = nil,
    parallelism: Int? = nil, readOnlyState: Bool = false, backoff: PlacementBackoff? = nil, _ body: (Runtime) async throws -> Int32
) async throws {
    let console = Console(noColor: options.noColor)
    let runtime: Runtime
    do {
        runtime = try Runtime.make(
            options: options, policy: policy, console: console, environment: environment, progress: progress,
            parallelism: parallelism, readOnlyState: readOnlyState, backoff: backoff)
    } catch let failure as ValidationFailed {
        console.report(failure)
        throw ExitCode(1)
    } catch {
        console.error("\(error)")
        throw ExitCode(1)
    }
    var code: Int32
    do {
        code = try await body(runtime)
    } catch let failure as ValidationFailed {
        console.report(failure)
        code = 1
    } catch let exit as ExitCode {
        code = exit.rawValue
    } catch {
        console.error("\(error)")
        code = 1
    }
    if !readOnlyState { runtime.engine.recordRequestStats() }
    await runtime.shutdown()
    if code != 0 { throw ExitCode(code) }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

extension Runtime {
    /// Renders a plan in the chosen format to stdout; JSON carries `stats` when given (docs/plan-json.md).
    func printPlan(_ plan: Plan, format: OutputFormat, stats: RunStats? = nil) throws {
        switch format {
        case .text: console.out(plan.renderText(color: console.colorStdout))
        case .json:
            if let stats {
                console.out(try PlanWithStats(plan: plan, stats: stats).renderJSON())
            } else {
                console.out(try plan.renderJSON())
            }
        case .markdown: console.out(plan.renderMarkdown())
        }
    }
}

/// `--parallelism N`: uploads and deletes in flight per endpoint (default 4), for `apply` and `reconcile`.
struct ParallelismOption: ParsableArguments {
    @Option(
        name: .long,
        help: "Uploads and deletes in flight per endpoint, and most requests open to it at once (default 4; env FERRY_PARALLELISM).")
    var parallelism: Int?

    /// The flag, else `FERRY_PARALLELISM`, else nil (the engine's default).
    var effective: Int? {
        parallelism ?? ProcessInfo.processInfo.environment["FERRY_PARALLELISM"].flatMap { Int($0) }
    }

    func validate() throws {
        if parallelism == nil, let text = ProcessInfo.processInfo.environment["FERRY_PARALLELISM"], Int(text) == nil {
            throw ValidationError("FERRY_PARALLELISM must be a whole number between 1 and 256, not '\(text)'")
        }
        if let effective, !(1...256).contains(effective) {
            throw ValidationError("--parallelism (or FERRY_PARALLELISM) must be between 1 and 256")
        }
    }
}
