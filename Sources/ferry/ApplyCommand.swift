import ArgumentParser
import FerryCore
import FerryEngine
import Foundation

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Carry out the plan: after confirmation, with --auto-approve, or from a saved plan file.",
        discussion: """
            With PLAN_FILE (from 'ferry plan -out'), applies exactly that plan and refuses it if the manifests,
            sources or providers changed since it was made. Takes the state lock for the whole run.
            Exit codes: 0 all actions succeeded; 1 an error, a refusal, or any failed action.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var guards: GuardOptions
    @OptionGroup var parallel: ParallelismOption

    @Argument(help: "A plan saved with 'ferry plan -out FILE'.")
    var planFile: String?

    @Flag(name: .long, help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Option(name: .long, help: "Seconds to wait for another run holding the state lock (default 0).")
    var lockTimeout: Double = 0

    func run() async throws {
        // Read the saved plan before anything else: a damaged file must change nothing.
        var saved: SavedPlan?
        if let planFile {
            let console = Console(noColor: options.noColor)
            guard let data = FileManager.default.contents(atPath: planFile) else {
                console.error("cannot read plan file \(planFile)")
                throw ExitCode(1)
            }
            do {
                saved = try SavedPlan.decode(data, path: planFile)
            } catch {
                console.report(error)
                throw ExitCode(1)
            }
        }
        try await withRuntime(options, policy: guards.policy, parallelism: parallel.effective) { runtime in
            let inputs = try await loadInputs(runtime)
            let lease = try await WriterLease.acquire(store: runtime.store, wait: lockTimeout)
            defer { lease.release() }
            let run = try runtime.store.startRun(command: "apply", at: runtime.now)
            let observed = try await runtime.engine.observe(inputs)
            let plan = try runtime.engine.plan(inputs, observed)

            func finish(_ outcome: String, _ summary: String, applied: Int = 0, failed: Int = 0) throws {
                try runtime.store.finishRun(
                    run, outcome: outcome, summary: summary, applied: applied, failed: failed,
                    requests: runtime.engine.requestCount(), at: runtime.now)
            }

            if let saved {
                if saved.plan.desiredFingerprint != plan.desiredFingerprint {
                    try finish("refused", "saved plan is stale (manifests changed)")
                    throw CLIError(
                        "the manifests or sources changed since \(planFile ?? "the plan") was made; run 'ferry plan -out' again")
                }
                if saved.plan.actions != plan.actions {
                    try finish("refused", "saved plan is stale (provider state changed)")
                    throw CLIError(
                        "what the providers hold changed since \(planFile ?? "the plan") was made; run 'ferry plan -out' again")
                }
            }
            try runtime.printPlan(plan, format: .text)
            if plan.hasUnknownEndpoints {
                try finish("failed", "some endpoints could not be listed")
                throw CLIError("some endpoints could not be listed; nothing was applied")
            }
            if !plan.blocked.isEmpty {
                try finish("refused", plan.blocked.joined(separator: "; "))
                return 1
            }
            if plan.isEmpty {
                try finish("converged", plan.summaryLine)
                return 0
            }
            if saved == nil && !autoApprove {
                guard runtime.console.interactive else {
                    try finish("refused", "not confirmed")
                    throw CLIError("refusing to apply without confirmation: pass --auto-approve or a saved plan file")
                }
                runtime.console.err("\nDo you want to perform these actions? Only 'yes' will be accepted.")
                FileHandle.standardError.write(Data("  Enter a value: ".utf8))
                guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                    try finish("refused", "cancelled")
                    runtime.console.err("Apply cancelled.")
                    return 1
                }
            }
            let result = await runtime.engine.apply(plan, inputs: inputs, run: run)
            let counts = Dictionary(grouping: result.applied, by: \.kind).mapValues(\.count)
            var summary =
                "Apply complete: \(counts[.create, default: 0]) created, \(counts[.replace, default: 0]) replaced, "
                + "\(counts[.delete, default: 0]) deleted"
            if let adopted = counts[.adopt] { summary += ", \(adopted) adopted" }
            if !result.failed.isEmpty { summary += ", \(result.failed.count) failed" }
            summary += "."
            runtime.console.out("\n" + summary + "\n")
            for (action, message) in result.failed {
                runtime.console.error("\(action.kind.rawValue) \(action.file) on \(action.endpointID): \(message)")
            }
            // Verify: observe again and say whether anything is left.
            let after = try runtime.engine.plan(inputs, try await runtime.engine.observe(inputs))
            if !after.isEmpty {
                runtime.console.err("Still to do after this apply: \(after.summaryLine) Run 'ferry apply' or 'ferry reconcile' again.")
            }
            try finish(
                result.failed.isEmpty ? (after.isEmpty ? "converged" : "applied") : "failed", summary,
                applied: result.applied.count, failed: result.failed.count)
            return result.failed.isEmpty ? 0 : 1
        }
    }
}
