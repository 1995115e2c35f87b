import ArgumentParser
import FerryCore
import FerryEngine
import Foundation

/// `ferry import`: adopt into the state the provider files that match declared placements but that the state has
/// no record of, after a state was lost or when a new one starts over files Ferry uploaded before.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Adopt files the providers already hold for declared placements into a new or lost state.",
        discussion: """
            Lists every endpoint and proposes one '= import' action per declared placement whose provider already \
            holds a file with the same name, size and purpose that the state has no record of. Where the provider \
            serves the content, it is downloaded and compared by SHA-256 (content-match); otherwise the match is \
            marked as the weaker name-match. Files whose content differs are left alone. Nothing is uploaded or \
            deleted. Afterwards 'ferry plan' shows no changes for the imported placements.
            Exit codes: 0 imported (or nothing to import); 1 an error, a refusal or a declined confirmation.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var guards: GuardOptions

    @Flag(name: .long, help: "Import without asking for confirmation.")
    var autoApprove = false

    @Option(name: [.customLong("out", withSingleDash: true), .customLong("out")], help: "Save the import plan to FILE instead of applying it; apply it with 'ferry apply FILE'.")
    var out: String?

    @Option(name: .long, help: "Seconds to wait for another run holding the state lock (default 0).")
    var lockTimeout: Double = 0

    @Option(name: .short, help: "Output format for the import plan: text, json or markdown.")
    var output: OutputFormat = .text

    func run() async throws {
        try await withRuntime(options, policy: guards.policy) { runtime in
            let console = runtime.console
            let savePath = out
            let result = try await runtime.engine.importPass(
                validated: runtime.manifests, lockTimeout: lockTimeout,
                present: { [output] plan in try runtime.printPlan(plan, format: output) },
                confirm: { [autoApprove] plan in
                    if let savePath {
                        do {
                            let saved = SavedPlan(
                                plan: plan, createdAt: runtime.engine.clock.nowSeconds(), manifestRoot: options.manifests)
                            try saved.encoded().write(to: URL(fileURLWithPath: savePath), options: .atomic)
                            console.err("Saved the import plan to \(savePath). Apply it with: ferry apply \(savePath)")
                            return .declined(reason: ImportCommand.saved)
                        } catch {
                            console.error("cannot write \(savePath): \(error)")
                            return .declined(reason: ApplyCommand.cancelled)
                        }
                    }
                    if autoApprove { return .approved }
                    guard console.interactive else { return .declined(reason: ApplyCommand.notConfirmed) }
                    return console.confirm("\nDo you want to record these files as Ferry's?")
                        ? .approved : .declined(reason: ApplyCommand.cancelled)
                })
            switch result.declined {
            case ImportCommand.saved?:
                return 0
            case ApplyCommand.notConfirmed?:
                throw CLIError(
                    .notConfirmed, "refusing to import without confirmation: pass --auto-approve, or -out FILE to review")
            case .some:
                console.err("Import cancelled.")
                return 1
            case nil:
                break
            }
            guard let report = result.report else { return result.outcome == .converged ? 0 : 1 }
            console.out("\nImport complete: \(report.applied.count) file(s) adopted.\n")
            for (action, message) in report.failed {
                console.error("import \(action.file) on \(action.endpointID): \(message)")
            }
            return report.failed.isEmpty ? 0 : 1
        }
    }

    /// The confirmation's answer when the plan was saved for review instead of applied.
    static let saved = "saved for review"
}
