import FerryCore
import Foundation
import GRDB
import Testing

@testable import FerryStore

/// A large owned-file read shares its strings on other threads while it reads on (`fetchOwnedFiles`, SQLite): it
/// must give the same records, in the same order, as a read that shares nothing, and share what it can.
@Suite("Owned files: a large read")
struct OwnedReadTests {
    @Test func largeReadSharesInChunks() throws {
        let store = try SQLiteStateStore(path: temporaryDatabasePath())
        let endpoints = ["openai", "azure", "vertex"].map { kind in
            Endpoint(kind: ProviderKind(rawValue: kind)!, baseURL: "http://127.0.0.1:9/\(kind)", credential: .environment("K"))
        }
        // Over the threshold (8,192 rows) with a partial last chunk: 3,001 names on three endpoints.
        let names = (0..<3_001).map { "set/doc-\(10_000 + $0).md" }
        let declared = names.enumerated().filter { $0.offset % 7 != 5 }.map(\.element)
        let digest = String(repeating: "ef", count: 32)
        try store.writer.write { db in
            for (number, name) in names.enumerated() {
                for endpoint in endpoints {
                    try db.execute(
                        sql: """
                            INSERT INTO owned_files (endpoint_id, remote_id, file, unified_id, digest, bytes, filename,
                                purpose, created_at, deletion_policy, recorded_at)
                            VALUES (?, ?, ?, ?, ?, 3, 'doc.md', 'assistants', 100, 'delete', 101)
                            """,
                        arguments: [
                            endpoint.id, "file-remote-\(endpoint.kind.rawValue)-\(number)", name, UnifiedID.make(for: name),
                            digest,
                        ])
                }
            }
        }
        #expect(names.count * endpoints.count >= SQLiteStateStore.parallelSharingRows)
        let (desired, digests) = declaredDocuments(declared, on: endpoints[0], digest: digest)
        // Two endpoints listed (all but every eleventh file), the third not at all.
        var listings: [String: [RemoteFile]] = [:]
        for endpoint in endpoints.prefix(2) {
            listings[endpoint.id] = names.indices.filter { $0 % 11 != 4 }.map { number in
                RemoteFile(
                    id: "file-remote-\(endpoint.kind.rawValue)-\(number)", filename: "doc.md", bytes: 3, purpose: "assistants",
                    createdAt: 100)
            }
        }
        let sharing = OwnedFile.SharedStrings(desired: desired, digests: digests, listings: listings)
        let plain = try store.ownedFilesAndIntents().owned
        let shared = try store.ownedFilesAndIntents(sharing: sharing).owned
        #expect(shared.count == names.count * endpoints.count)
        #expect(shared == plain)
        let byName = Dictionary(uniqueKeysWithValues: desired.files.map { ($0.name, $0) })
        var listedIDs: [String: String] = [:]
        for files in listings.values { for file in files { listedIDs[file.id] = file.id } }
        var sharedNames = 0
        var sharedIDs = 0
        for record in shared {
            if let file = byName[record.file] {
                #expect(storage(of: record.file) == storage(of: file.name))
                #expect(storage(of: record.digest) == storage(of: digests[file.sourcePath]!))
                sharedNames += 1
            }
            if let listed = listedIDs[record.remoteID] {
                #expect(storage(of: record.remoteID) == storage(of: listed))
                sharedIDs += 1
            }
        }
        #expect(sharedNames == declared.count * endpoints.count)
        #expect(sharedIDs == listings.values.reduce(0) { $0 + $1.count })
    }
}
