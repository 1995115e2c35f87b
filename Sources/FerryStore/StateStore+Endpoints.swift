import FerryCore
import Foundation
import GRDB

extension StateStore {
    /// Endpoints on which Ferry owns at least one file (cheaper than loading every owned file to find them).
    public func ownedEndpointIDs() throws -> Set<String> {
        try writer.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT endpoint_id FROM owned_files")) }
    }
}
