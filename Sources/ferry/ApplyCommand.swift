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
    @OptionGroup var notify: NotifyOptions

    @Argument(help: "A plan saved with 'ferry plan -out FILE'.")
    var planFile: String?

    @Flag(name: .long, help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Option(name: .long, help: "Seconds to wait for another run holding the state lock (default 0).")
    var lockTimeout: Double = 0

    func run() async throws {
        // Read the saved plan before anything else: a damaged file must change nothing.
        let saved = try planFile.map(readSavedPlan)
        if saved != nil, !guards.scope.scope.isEverything {
            Console(noColor: options.noColor).error(
                "--target and --exclude cannot change a saved plan; it is applied within the scope it was made with")
            throw ExitCode(1)
        }
        let notifier = try notify.makeNotifier(options, console: Console(noColor: options.noColor))
        try await withRuntime(options, policy: guards.policy, parallelism: parallel.effective) { runtime in
            let console = runtime.console
            let started = Date().timeIntervalSince1970
            let result = try await runtime.engine.applyPass(
                validated: runtime.manifests, saved: saved,
                lockTimeout: lockTimeout,
                present: { plan in try runtime.printPlan(plan, format: .text) },
                confirm: { [autoApprove] _ in
                    if autoApprove { return .approved }
                    guard console.interactive else { return .declined(reason: Self.notConfirmed) }
                    return console.confirm("\nDo you want to perform these actions?")
                        ? .approved : .declined(reason: Self.cancelled)
                })
            await notifier?.applyEnded(
                result, policy: runtime.engine.configuration.policy,
                declaresFiles: !runtime.manifests.desired.files.isEmpty,
                revision: runtime.engine.configuration.revision, startedAt: started,
                finishedAt: Date().timeIntervalSince1970)
            switch result.declined {
            case Self.notConfirmed?:
                throw CLIError(.notConfirmed, "refusing to apply without confirmation: pass --auto-approve or a saved plan file")
            case .some:
                console.err("Apply cancelled.")
                return 1
            case nil:
                break
            }
            guard let report = result.report, let summary = result.summary else {
                return result.outcome == .converged ? 0 : 1  // no changes, or refused by a guard
            }
            console.out("\n" + summary + "\n")
            for (action, message) in report.failed {
                console.error("\(action.kind.rawValue) \(action.file) on \(action.endpointID): \(message)")
            }
            for (action, message) in report.vectorStores.failed {
                console.error(
                    "\(action.kind.rawValue) \(action.file.map { "\($0) in " } ?? "")vector store \(action.store) on "
                        + "\(action.endpointID): \(message)")
            }
            if let remaining = result.remaining, !remaining.isEmpty {
                console.err(
                    "Still to do after this apply: \(remaining.summaryLine) Run 'ferry apply' or 'ferry reconcile' again.")
            }
            return report.succeeded ? 0 : 1
        }
    }

    /// Why an apply went unconfirmed, as recorded in its run.
    static let notConfirmed = "not confirmed"
    static let cancelled = "cancelled"

    /// Reads and checks a saved plan file; exits 1 with a diagnostic when it cannot be used.
    func readSavedPlan(_ path: String) throws -> SavedPlanInput {
        let console = Console(noColor: options.noColor)
        guard let data = FileManager.default.contents(atPath: path) else {
            console.error("cannot read plan file \(path)")
            throw ExitCode(1)
        }
        do {
            return SavedPlanInput(saved: try SavedPlan.decode(data, path: path), path: path)
        } catch {
            console.report(error)
            throw ExitCode(1)
        }
    }
}
