import FerryCore
import FerryStore
import Foundation
import Hummingbird
import Prometheus

/// What `/metrics` reports, read in one go.
struct MetricsData: Sendable {
    var counts: [String: Int]
    var totals: RunTotals
    var requests: [RequestStatsRow]
    var endpoints: [EndpointRecord]
    var files: Int
    /// Declared files per condition type and status (`Ready` → `True` → 3).
    var fileConditions: [StatusCondition.Kind: [StatusCondition.Status: Int]] = [:]
    var revisions = RevisionStatus()
    /// Placements waiting out their backoff in the reconcile loop of this process (0 for `ferry serve`).
    var backingOff = 0
}

extension StatusView {
    /// `GET /metrics`: Prometheus text format (version 0.0.4).
    func metrics() async throws -> Payload {
        let (redact, clock) = (self.redact, configuration.now)
        var data = try await read { store in
            var data = MetricsData(
                counts: try store.placementStateCounts(), totals: try store.runTotals(),
                requests: try store.requestStats(), endpoints: try store.endpointRecords(),
                files: try store.desiredFileCount())
            let inputs = try ConditionInputs.read(
                store, endpoints: data.endpoints, now: clock().timeIntervalSince1970, redact: redact)
            data.revisions = inputs.revisions
            // Each file's conditions from its in-sync count and its other placements, which come first.
            let notInSync = data.counts.filter { $0.key != "in-sync" }.values.reduce(0, +)
            let attention = try notInSync == 0 ? [] : store.placementRecords(attentionFirst: true, limit: notInSync)
            let others = Dictionary(grouping: attention, by: \.status.file)
            for file in try store.desiredFileStatuses() {
                let pending = (others[file.file.name] ?? []).filter { $0.status.state != .inSync }
                let conditions = Conditions.evaluate(
                    inSync: file.rollUp.placements - pending.count,
                    others: pending.map { inputs.placement($0, redact: redact) }, context: inputs.context)
                for condition in conditions {
                    data.fileConditions[condition.type, default: [:]][condition.status, default: 0] += 1
                }
            }
            return data
        }
        data.backingOff = configuration.retries().count
        return .text(
            MetricsExposition.render(data), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}

/// Renders the state store's figures with swift-prometheus. The values are not process counters but totals kept
/// in the database by every run, so each scrape fills a fresh registry and emits it.
enum MetricsExposition {
    static func render(_ data: MetricsData) -> String {
        let registry = PrometheusCollectorRegistry()
        for state in StatusView.states {
            registry.makeGauge(
                descriptor: name(
                    "placements", "",
                    "Placements of the latest plan by state (failed: not in sync and the last attempt failed)."),
                labels: [("state", state)]
            ).set(Int64(data.counts[state] ?? 0))
        }
        registry.makeGauge(descriptor: name("desired_files", "", "Files the manifests declare (latest snapshot)."))
            .set(Int64(data.files))
        registry.makeGauge(
            descriptor: name(
                "placements_backing_off", "",
                "Placements whose failing action waits out its backoff in this process's reconcile loop.")
        ).set(Int64(data.backingOff))
        registry.makeCounter(
            descriptor: name("actions_applied", "total", "Plan actions applied, over the runs the state store keeps.")
        ).increment(by: Int64(data.totals.applied))
        registry.makeCounter(
            descriptor: name(
                "actions_failed", "total", "Plan actions that failed, over the runs the state store keeps.")
        ).increment(by: Int64(data.totals.failed))
        registry.makeGauge(
            descriptor: name(
                "last_successful_reconcile_timestamp", "seconds",
                "Unix time the last run with outcome converged finished; 0 when none has.")
        ).set(data.totals.lastConvergedAt ?? 0)
        for kind in StatusCondition.Kind.allCases {
            for status in [StatusCondition.Status.true, .false, .unknown] {
                registry.makeGauge(
                    descriptor: name(
                        "files_condition", "",
                        "Declared files whose condition of this type has this status (Ready, Reconciling, Stalled)."),
                    labels: [("type", kind.rawValue), ("status", status.rawValue)]
                ).set(Int64(data.fileConditions[kind]?[status] ?? 0))
            }
        }
        for (kind, revision) in [
            ("observed", data.revisions.observed), ("last_applied", data.revisions.lastApplied),
            ("last_attempted", data.revisions.lastAttempted),
        ] {
            guard let revision else { continue }
            registry.makeGauge(
                descriptor: name(
                    "revision_info", "",
                    "1 for each known revision: observed (the latest snapshot's), last_applied (latest converged "
                        + "apply or reconcile), last_attempted (latest apply or reconcile)."),
                labels: [("kind", kind), ("revision", revision)]
            ).set(Int64(1))
        }
        for row in data.requests {
            let labels = [("endpoint", row.endpointID), ("operation", row.operation)]
            func count(_ metric: String, _ help: String, _ value: Int) {
                registry.makeCounter(descriptor: name(metric, "total", help), labels: labels)
                    .increment(by: Int64(value))
            }
            count("provider_requests", "Requests sent to providers.", row.requests)
            count("provider_request_failures", "Provider requests that failed (after retries).", row.failures)
            count("provider_request_retries", "Provider requests retried.", row.retries)
            registry.makeCounter(
                descriptor: name(
                    "provider_request_duration_seconds", "total", "Sum of provider request latencies, in seconds."),
                labels: labels
            ).increment(by: row.latencySeconds)
        }
        for endpoint in data.endpoints {
            let labels = [("endpoint", endpoint.id)]
            func gauge(_ metric: String, _ unit: String, _ help: String, _ value: Int) {
                registry.makeGauge(descriptor: name(metric, unit, help), labels: labels).set(Int64(value))
            }
            gauge(
                "endpoint_last_successful_observation_timestamp", "seconds",
                "Unix time of the endpoint's last successful listing; 0 when it never succeeded.",
                Int(endpoint.lastSuccessAt ?? 0))
            gauge(
                "endpoint_up", "", "1 when the endpoint's last listing succeeded.",
                endpoint.error == nil && endpoint.lastSuccessAt != nil ? 1 : 0)
            gauge("endpoint_listed_files", "", "Files in the endpoint's last listing.", endpoint.listed ?? 0)
            gauge("endpoint_owned_files", "", "Remote files Ferry owns on the endpoint.", endpoint.owned)
            gauge(
                "endpoint_unmanaged_files", "", "Listed files Ferry does not own (never touched).",
                endpoint.unmanaged)
        }
        return registry.emitToString()
    }

    /// `ferry_<metric>[_<unit>]` with its help text.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "ferry", metricName: metric, unitName: unit, helpText: help)
    }
}
