import FerryCore
import Foundation

extension PostgresStateStore {
    public func recordVectorStores(_ observation: VectorStoreObservation) throws {
        let json = String(decoding: try JSONEncoder().encode(observation), as: UTF8.self)
        try session.withConnection { connection in
            _ = try connection.execute(
                """
                INSERT INTO snapshots (workspace, name, json, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (workspace, name) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at
                """,
                binds(workspace, VectorStoreSnapshot.prefix + observation.endpointID, json, Double(observation.observedAt)))
        }
    }

    public func vectorStoreObservations() throws -> [String: VectorStoreObservation] {
        try session.withConnection { connection in
            let rows = try connection.query(
                "SELECT json FROM snapshots WHERE workspace = $1 AND name >= $2 AND name < $3",
                binds(workspace, VectorStoreSnapshot.prefix, VectorStoreSnapshot.prefixEnd))
            return VectorStoreSnapshot.decode(try rows.map { try $0.get(0, as: String.self) })
        }
    }

    public func saveVectorStoreStatuses(_ statuses: [VectorStoreStatus], at now: Double) throws {
        let json = String(decoding: try JSONEncoder().encode(statuses), as: UTF8.self)
        try session.withConnection { connection in
            _ = try connection.execute(
                """
                INSERT INTO snapshots (workspace, name, json, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (workspace, name) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at
                """, binds(workspace, VectorStoreSnapshot.statusName, json, now))
        }
    }

    public func vectorStoreStatuses() throws -> [VectorStoreStatus] {
        try session.withConnection { connection in
            let rows = try connection.query(
                "SELECT json FROM snapshots WHERE workspace = $1 AND name = $2",
                binds(workspace, VectorStoreSnapshot.statusName))
            return VectorStoreSnapshot.statuses(try rows.first?.get(0, as: String.self))
        }
    }
}
