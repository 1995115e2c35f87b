import ArgumentParser
import FerryCore
import FerryEngine
import Foundation

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests, sources and referenced environment variables; change nothing.",
        discussion: "Prints every problem as path:line:column: error: message (hint: …) and exits 1 if any.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await withRuntime(options, policy: PlanPolicy(), progress: false) { runtime in
            let inputs = try await runtime.engine.load(validated: runtime.manifests)
            let placements = inputs.desired.files.reduce(0) { $0 + inputs.desired.placements(of: $1).count }
            runtime.console.out(
                "Valid: \(inputs.desired.files.count) file(s), \(placements) placement(s) on "
                    + "\(inputs.desired.endpoints.count) endpoint(s).\n")
            return 0
        }
    }
}
