import ArgumentParser

/// `ferry`: keep the files LLM providers hold in line with YAML manifests.
@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Keep the files LLM providers hold in line with YAML manifests.",
        discussion: """
            Typical use: 'ferry plan' to see the diff, 'ferry apply' to carry it out, 'ferry reconcile' from cron.
            'ferry demo' runs the whole flow against the bundled provider simulator with no API keys.
            """,
        version: FerryVersion.current,
        subcommands: [
            ValidateCommand.self, PlanCommand.self, ApplyCommand.self, ReconcileCommand.self, DriftCommand.self,
            ImportCommand.self,
            ServeCommand.self, StateCommand.self, DemoCommand.self, SimulatorCommand.self,
        ]
    )

    static func main() async {
        MallocTuning.apply()
        await main(nil)
    }
}

enum FerryVersion {
    static let current = "0.1.0"
}
