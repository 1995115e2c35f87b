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
            Exit codes: 0 success; 1 error or a refused plan; with --detailed-exitcode, 2 when there are changes.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var guards: GuardOptions

    @Option(name: .short, help: "Output format: text, json (docs/plan-json.md) or markdown (for pull requests).")
    var output: OutputFormat = .text

    @Option(name: [.customLong("out", withSingleDash: true), .customLong("out")], help: "Also save the plan to FILE for 'ferry apply FILE'.")
    var out: String?

    @Flag(name: .long, help: "Exit 0 when there are no changes, 2 when there are, 1 on error.")
    var detailedExitcode = false

    func run() async throws {
        try await withRuntime(options, policy: guards.policy) { runtime in
            let result = try await runtime.engine.planPass(validated: runtime.manifests)
            let plan = result.plan
            try runtime.printPlan(plan, format: output, stats: runtime.engine.stats())
            if let out {
                let saved = SavedPlan(
                    plan: plan, createdAt: runtime.engine.clock.nowSeconds(), manifestRoot: options.manifests)
                try saved.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
                runtime.console.err("Saved the plan to \(out). Apply it with: ferry apply \(out)")
            }
            if result.outcome != .planned { return 1 }
            return detailedExitcode && !plan.isEmpty ? 2 : 0
        }
    }
}
