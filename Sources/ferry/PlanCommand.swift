import ArgumentParser
import FerryCore
import FerryEngine
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change: + create, ~ replace, - delete, = adopt.",
        discussion: """
            Lists every endpoint (list requests only; nothing is created or deleted) and prints the diff.
            --refresh=false plans against the listings stored by the last run instead: no provider request, the \
            state opened read-only, and the age of each listing printed (for pull requests over a shared state).
            --refresh-only reports drift instead of a plan: what changed on the providers since the last run.
            Exit codes: 0 success; 1 error or a refused plan; with --detailed-exitcode, 2 when there are changes. \
            With --refresh-only: 0 no drift, 2 drift, 1 error.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var guards: GuardOptions

    @Option(name: .short, help: "Output format: text, json (docs/plan-json.md) or markdown (for pull requests).")
    var output: OutputFormat = .text

    @Option(name: [.customLong("out", withSingleDash: true), .customLong("out")], help: "Also save the plan to FILE for 'ferry apply FILE'.")
    var out: String?

    @Flag(name: .long, help: "Exit 0 when there are no changes, 2 when there are, 1 on error.")
    var detailedExitcode = false

    @Option(
        name: .long,
        help: "List the providers first (default true); --refresh=false plans against the listings the last run stored.")
    var refresh: Bool = true

    @Flag(name: .long, help: "Report only drift (owned files deleted or changed out of band, foreign files); exit 2 when there is any.")
    var refreshOnly = false

    @OptionGroup var notify: NotifyOptions

    func validate() throws {
        if refreshOnly && !refresh { throw ValidationError("--refresh-only and --refresh=false contradict each other") }
        if !refreshOnly && !notify.urls.isEmpty { throw ValidationError("plan posts notifications only with --refresh-only (drift)") }
        if refreshOnly && out != nil { throw ValidationError("--refresh-only makes no plan to save with -out") }
        if !refresh && out != nil {
            throw ValidationError("a plan from stored listings cannot be saved with -out: apply would list the providers anyway")
        }
    }

    func run() async throws {
        if refreshOnly {
            try await DriftCommand.check(options: options, output: output, notify: notify, command: "plan --refresh-only")
            return
        }
        try await withRuntime(options, policy: guards.policy, readOnlyState: !refresh) { runtime in
            let plan: Plan
            let outcome: PassOutcome
            if refresh {
                let result = try await runtime.engine.planPass(validated: runtime.manifests)
                (plan, outcome) = (result.plan, result.outcome)
                // The desired files and digests are freed on another thread while the plan is printed.
                Parallel.release(consume result)
            } else {
                let result = try await runtime.engine.planFromStoredListings(validated: runtime.manifests)
                (plan, outcome) = (result.plan, result.outcome)
                runtime.console.err(Self.describeAges(result, now: runtime.engine.clock.nowSeconds()))
                Parallel.release(consume result)
            }
            try runtime.printPlan(plan, format: output, stats: runtime.engine.stats())
            if let out {
                let saved = SavedPlan(
                    plan: plan, createdAt: runtime.engine.clock.nowSeconds(), manifestRoot: options.manifests)
                try saved.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
                runtime.console.err("Saved the plan to \(out). Apply it with: ferry apply \(out)")
            }
            let code: Int32 = outcome != .planned ? 1 : (detailedExitcode && !plan.isEmpty ? 2 : 0)
            // A status per placement, freed on another thread: a process that ends now does not wait for it.
            Parallel.release(consume plan)
            return code
        }
    }

    /// `Planned against stored listings (no provider was called): openai … listed 12m ago (2026-…Z).`
    static func describeAges(_ result: StoredPlanResult, now: Int64) -> String {
        let names = Dictionary(result.plan.endpoints.map { ($0.endpointID, $0.displayName) }, uniquingKeysWith: { a, _ in a })
        var lines = ["Planned against stored listings (no provider was called):"]
        for (endpoint, at) in result.listedAt.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  \(names[endpoint] ?? endpoint): listed \(formatAge(max(0, now - at))) ago (\(FerryClock.iso8601(Double(at))))")
        }
        return lines.joined(separator: "\n")
    }
}

/// `2h5m`, `12m`, `40s`.
func formatAge(_ seconds: Int64) -> String {
    if seconds >= 86_400 { return "\(seconds / 86_400)d\((seconds % 86_400) / 3_600)h" }
    if seconds >= 3_600 { return "\(seconds / 3_600)h\((seconds % 3_600) / 60)m" }
    if seconds >= 60 { return "\(seconds / 60)m" }
    return "\(seconds)s"
}

/// `ferry drift`: the same as `ferry plan --refresh-only`.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Report what changed on the providers since the last run; exit 2 when anything did.",
        discussion: """
            Lists every endpoint and compares the listings with the files the state owns: owned files \
            deleted or changed out of band, and foreign files inside what Ferry manages (objects under its Cloud \
            Storage prefix, files carrying Ferry's metadata that the state does not own). Changes nothing else; a \
            scheduled drift check alerts on exit 2 instead of fixing. Same as 'ferry plan --refresh-only'.
            Exit codes: 0 no drift; 2 drift; 1 error (an endpoint could not be listed).
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .short, help: "Output format: text, json or markdown.")
    var output: OutputFormat = .text

    @OptionGroup var notify: NotifyOptions

    func run() async throws {
        try await Self.check(options: options, output: output, notify: notify, command: "drift")
    }

    /// Runs the drift check, prints it, and posts a `drift` notification to `--notify` webhooks when there is any.
    static func check(options: GlobalOptions, output: OutputFormat, notify: NotifyOptions, command: String) async throws {
        let notifier = try notify.makeNotifier(options, console: Console(noColor: options.noColor))
        try await withRuntime(options, policy: PlanPolicy()) { runtime in
            let started = Date().timeIntervalSince1970
            let result = try await runtime.engine.driftPass(validated: runtime.manifests)
            let drift = result.drift
            if let notifier,
                var event = NotificationEvent.drift(
                    command: command, report: drift, endpointNames: result.endpointNames, startedAt: started,
                    finishedAt: Date().timeIntervalSince1970)
            {
                event.revision = runtime.engine.configuration.revision
                await notifier.post(event)
            }
            switch output {
            case .text: runtime.console.out(drift.renderText(names: result.endpointNames))
            case .markdown: runtime.console.out(drift.renderMarkdown(names: result.endpointNames))
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                runtime.console.out(String(decoding: try encoder.encode(drift), as: UTF8.self) + "\n")
            }
            if !drift.unlisted.isEmpty { return 1 }
            return drift.hasDrift ? 2 : 0
        }
    }
}
