import GRDB

// Provider request statistics accumulated across runs, for `/metrics`.

extension SQLiteStateStore {
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
