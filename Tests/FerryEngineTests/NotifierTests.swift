import FerryCore
import FerryEngine
import FerryProviders
import FerryTestSupport
import Foundation
import Testing

/// `Notifier` against a webhook receiver on 127.0.0.1: what a loop posts, once per situation, and the drift API.
@Suite("Notifier", .serialized)
struct NotifierTests {
    static func stalled(_ files: [String], at time: Double = 1_764_500_000) -> NotificationEvent {
        NotificationEvent(
            kind: .stalled, command: "reconcile", summary: "reconcile did not converge",
            placements: files.map {
                .init(file: $0, endpointID: "openai|u|env:K", endpoint: "openai u (env:K)", action: "create", reason: "HTTP 400")
            }, counts: ["unconverged": files.count, "applied": 0], startedAt: time - 2, finishedAt: time,
            revision: "0123456789abcdef")
    }

    /// A loop that stays stalled posts once; a different set of placements posts again; converging posts
    /// `recovered` once.
    @Test func loopPostsEachSituationOnce() async throws {
        let receiver = try await WebhookReceiver()
        defer { Task { await receiver.close() } }
        let notifier = Notifier(
            targets: [try WebhookTarget(receiver.url("/hook"))], workspace: "prod")

        await notifier.postIfChanged(Self.stalled(["a"]))
        await notifier.postIfChanged(Self.stalled(["a"], at: 1_764_500_060))
        #expect(receiver.received.count == 1)
        await notifier.postIfChanged(Self.stalled(["a", "b"]))
        #expect(receiver.received.count == 2)
        await notifier.clear(.stalled, command: "reconcile", summary: "converged", at: 1_764_500_120)
        await notifier.clear(.stalled, command: "reconcile", summary: "converged", at: 1_764_500_180)
        #expect(receiver.received.map { $0.json["event"] as? String } == ["stalled", "stalled", "recovered"])

        let first = receiver.received[0].json
        #expect(first["revision"] as? String == "0123456789abcdef")
        #expect(first["startedAt"] as? String == "2025-11-30T10:53:18Z")
        #expect(first["finishedAt"] as? String == "2025-11-30T10:53:20Z")
        #expect(
            first["text"] as? String
                == ":warning: Ferry [prod @ 0123456789ab] reconcile did not converge\n• create a on openai u (env:K): HTTP 400")
    }

    /// The drift event of `ferry drift` / `plan --refresh-only`: one placement per finding, counts by kind.
    @Test func driftEventFromAReport() async throws {
        let receiver = try await WebhookReceiver()
        defer { Task { await receiver.close() } }
        let report = DriftReport(
            findings: [
                .init(kind: .deleted, endpointID: "e1", file: "a", remoteID: "file-1", detail: "deleted out of band"),
                .init(kind: .foreign, endpointID: "e1", file: "x.md", remoteID: "file-2", detail: "not ours"),
            ], unlisted: [:], checked: 3)
        let event = try #require(
            NotificationEvent.drift(report: report, endpointNames: ["e1": "openai e1"], finishedAt: 1_764_500_000))
        #expect(
            NotificationEvent.drift(
                report: DriftReport(findings: [], unlisted: [:], checked: 3), endpointNames: [:], finishedAt: 0) == nil)
        let notifier = Notifier(targets: [try WebhookTarget(receiver.url())], workspace: "default")
        #expect(await notifier.post(event) == 0)
        let json = try #require(receiver.received.first).json
        #expect(json["event"] as? String == "drift")
        #expect(json["counts"] as? [String: Int] == ["findings": 2, "deleted": 1, "foreign": 1])
        #expect(json["revision"] is NSNull)
        #expect(
            (json["placements"] as? [[String: Any]])?.compactMap { $0["reason"] as? String }
                == ["deleted: deleted out of band (file-1)", "foreign: not ours (file-2)"])
    }

    /// Only http(s) URLs with a host; what is shown of one is scheme://host[:port].
    @Test func webhookTargets() throws {
        #expect(try WebhookTarget("https://hooks.slack.com/services/T0/B0/SECRET").description == "https://hooks.slack.com")
        #expect(try WebhookTarget("http://127.0.0.1:9/x?token=SECRET").description == "http://127.0.0.1:9")
        for bad in ["ftp://x/y", "hooks.slack.com/x", "https:///nohost", "mailto:a@b", "http://a b/"] {
            #expect(throws: WebhookTargetError.self) { try WebhookTarget(bad) }
        }
    }
}
