import FerryCore
import Foundation
import GRDB

extension SQLiteStateStore {
    public func recordVectorStores(_ observation: VectorStoreObservation) throws {
        let json = String(decoding: try JSONEncoder().encode(observation), as: UTF8.self)
        try writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES (?, ?, ?)",
                arguments: [VectorStoreSnapshot.prefix + observation.endpointID, json, Double(observation.observedAt)])
        }
    }

    public func vectorStoreObservations() throws -> [String: VectorStoreObservation] {
        try writer.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT json FROM snapshots WHERE name >= ? AND name < ?",
                arguments: [VectorStoreSnapshot.prefix, VectorStoreSnapshot.prefixEnd])
            return VectorStoreSnapshot.decode(rows.map { $0["json"] as String })
        }
    }
}

extension SQLiteStateStore {
    public func saveVectorStoreStatuses(_ statuses: [VectorStoreStatus], at now: Double) throws {
        let json = String(decoding: try JSONEncoder().encode(statuses), as: UTF8.self)
        try writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshots (name, json, updated_at) VALUES (?, ?, ?)",
                arguments: [VectorStoreSnapshot.statusName, json, now])
        }
    }

    public func vectorStoreStatuses() throws -> [VectorStoreStatus] {
        try writer.read { db in
            let text = try String.fetchOne(
                db, sql: "SELECT json FROM snapshots WHERE name = ?", arguments: [VectorStoreSnapshot.statusName])
            return VectorStoreSnapshot.statuses(text)
        }
    }
}

/// Vector store listings live in the snapshots table, one row per endpoint named `vector-stores:<endpoint id>`.
enum VectorStoreSnapshot {
    static let prefix = "vector-stores:"
    /// The first name after every `vector-stores:…` name (`;` follows `:`).
    static let prefixEnd = "vector-stores;"
    /// The row holding the latest plan's vector store statuses (outside the listings' name range).
    static let statusName = "vector-store-status"

    static func statuses(_ text: String?) -> [VectorStoreStatus] {
        guard let text else { return [] }
        return (try? JSONDecoder().decode([VectorStoreStatus].self, from: Data(text.utf8))) ?? []
    }

    static func decode(_ texts: [String]) -> [String: VectorStoreObservation] {
        var result: [String: VectorStoreObservation] = [:]
        for text in texts {
            guard let observation = try? JSONDecoder().decode(VectorStoreObservation.self, from: Data(text.utf8)) else {
                continue
            }
            result[observation.endpointID] = observation
        }
        return result
    }
}
