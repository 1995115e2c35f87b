import GRDB

// Provider request statistics accumulated across runs, for `/metrics`.

/// Accumulated provider requests of one operation on one endpoint, across runs.
public struct RequestStatsRow: Hashable, Codable, Sendable {
    public var endpointID: String
    public var operation: String
    public var requests: Int
    public var failures: Int
    public var retries: Int
    public var latencySeconds: Double

    public init(endpointID: String, operation: String, requests: Int, failures: Int, retries: Int, latencySeconds: Double) {
        self.endpointID = endpointID
        self.operation = operation
        self.requests = requests
        self.failures = failures
        self.retries = retries
        self.latencySeconds = latencySeconds
    }
}

extension StateStore {
    /// Adds a run's request counts to the totals.
    public func addRequestStats(_ rows: [RequestStatsRow]) throws {
        guard !rows.isEmpty else { return }
        try writer.write { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO request_stats (endpoint_id, operation, requests, failures, retries, latency_seconds)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT(endpoint_id, operation) DO UPDATE SET requests = requests + excluded.requests,
                            failures = failures + excluded.failures, retries = retries + excluded.retries,
                            latency_seconds = latency_seconds + excluded.latency_seconds
                        """,
                    arguments: [row.endpointID, row.operation, row.requests, row.failures, row.retries, row.latencySeconds])
            }
        }
    }

    public func requestStats() throws -> [RequestStatsRow] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM request_stats ORDER BY endpoint_id, operation").map { row in
                RequestStatsRow(
                    endpointID: row["endpoint_id"], operation: row["operation"], requests: row["requests"],
                    failures: row["failures"], retries: row["retries"], latencySeconds: row["latency_seconds"])
            }
        }
    }
}
