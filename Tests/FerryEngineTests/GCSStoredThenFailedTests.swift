import FerryCore
import FerryEngine
import FerrySimulator
import Foundation
import Testing

/// Invariant 2 end to end, for the Cloud Storage failure that `SecretsCanaryTests` met by chance (a second
/// `…/handbook.md` object, owned by nobody, after a clean `apply` + `reconcile` that both reported success):
/// a create stores its object but its answer is lost (500), the retry meets 412, and reading the object back is
/// refused (403). The create must not be reported as "certainly not stored": the write-ahead intent has to stay
/// open so that the next observation adopts the object instead of uploading the file a second time.
@Suite("Cloud Storage: a stored object whose create failed is adopted", .serialized)
struct GCSLostAnswerAdoptionTests {
    @Test func storedObjectWithRefusedReadBackIsAdoptedNotDuplicated() async throws {
        let workspace = try await emulatorWorkspace()
        defer { Task { await workspace.close() } }
        workspace.declare("handbook", models: ["gemini"])
        func ferryObjects() -> [String] {
            workspace.simulator.objects(bucket: "ferry-test").map(\.filename).filter { $0.hasPrefix("ferry/") }
        }

        // Every upload is stored and then answered 500; every read of an object's metadata answers 403.
        workspace.simulator.setFaults(
            FaultPlan(errorRate: ["gcs.get": 1.0], errorStatuses: [403], acceptThenFailRate: 1.0))
        let engine = try workspace.engine()
        let inputs = try await engine.load()
        let plan = try await engine.plan(inputs, try await engine.observe(inputs))
        #expect(plan.actions.map(\.kind) == [.create])
        let report = await engine.apply(plan, inputs: inputs)
        #expect(!report.succeeded)
        #expect(workspace.simulator.stats().acceptedThenFailed == 1)
        #expect(ferryObjects().count == 1, "the failed create stored its object")
        #expect(try engine.store.intents().count == 1, "the intent must stay open: the object may be (and is) there")

        // Faults off: the clean pass adopts the object instead of uploading again.
        workspace.simulator.setFaults(.none)
        let clean = try await workspace.reconcile()
        #expect(clean.outcome == .converged)
        let objects = ferryObjects()
        #expect(objects.count == 1, "\(objects)")
        #expect(try workspace.engine().store.ownedFiles().map(\.remoteID) == objects.map { "gs://ferry-test/\($0)" })
        #expect(try workspace.engine().store.intents().isEmpty)
        #expect(try await workspace.plan().isEmpty)
    }
}
