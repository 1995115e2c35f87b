import Foundation
import NIOCore
import Testing

@testable import FerrySimulator

/// The file listing (OpenAI, Azure, Anthropic and Gemini pages) walks a kept order from the cursor instead of sorting
/// every file per page: these tests hold it to the plain definition (every visible file, sorted, then cut at the
/// cursor) on random files, cursors, orders and page sizes.
@Suite("Simulator file listing")
struct FileListingTests {
    /// The definition: visible files (not expired, of the purpose) in list order, after or before the cursor.
    static func expected(
        _ tenant: Tenant, purpose: String?, descending: Bool, after: String?, before: String?, limit: Int, now: Double
    ) -> (ids: [String], hasMore: Bool)? {
        var cursor: SortKey?
        if let name = after ?? before {
            guard let key = tenant.files[name]?.sortKey ?? tenant.tombstones[name] else { return nil }
            cursor = key
        }
        var visible = tenant.files.values.filter { record in
            if let expires = record.expiresAt, now >= Double(expires) { return false }
            if let purpose, record.purpose != purpose { return false }
            guard let cursor else { return true }
            let follows = descending ? record.sortKey < cursor : cursor < record.sortKey
            return before == nil ? follows : (record.sortKey != cursor && !follows)
        }
        visible.sort { descending ? $1.sortKey < $0.sortKey : $0.sortKey < $1.sortKey }
        let page = before == nil ? visible.prefix(limit) : visible.suffix(limit)
        return (page.map(\.id), visible.count > limit)
    }

    @Test("random files, cursors, orders and page sizes list as the definition says")
    func randomListings() throws {
        var random = SimRandom(seed: 20_261_201)
        for round in 0..<40 {
            let core = SimulatorCore(configuration: SimulatorConfiguration())
            let tenant = TenantID(flavor: .openai, apiKey: "sk-\(round)")
            let now = 1_800_000_000.0
            let count = Int.random(in: 0...60, using: &random)
            var ids: [String] = []
            for index in 0..<count {
                let id = core.reserveFileID(flavor: .openai)
                // Few distinct times, so ties (broken by id) are common; some files expired, two purposes.
                let created = Int64(now) - Int64.random(in: 0...5, using: &random) * 100
                let expires: Int64? = index % 7 == 3 ? created + Int64.random(in: 1...1_000, using: &random) : nil
                _ = try core.commitFile(
                    tenant: tenant, id: id, filename: "f\(index).txt",
                    purpose: Bool.random(using: &random) ? "assistants" : "batch",
                    content: .memory(ByteBuffer(bytes: [UInt8(index & 0xff)])), size: 1, sha256: nil,
                    createdAt: created, expiresAfterSeconds: expires.map { $0 - created })
                ids.append(id)
            }
            // Deleted files leave tombstones: a cursor naming one keeps its place.
            for id in ids where Int.random(in: 0..<5, using: &random) == 0 { core.deleteFile(tenant, id: id) }
            for _ in 0..<25 {
                let purpose = [nil, "assistants", "batch"].randomElement(using: &random)!
                let descending = Bool.random(using: &random)
                let cursor = ids.isEmpty || Int.random(in: 0..<4, using: &random) == 0 ? nil : ids.randomElement(using: &random)
                let before = cursor != nil && Bool.random(using: &random)
                let limit = Int.random(in: 1...12, using: &random)
                let snapshot = core.state.withLockedValue { $0.tenants[tenant] ?? Tenant() }
                let want = Self.expected(
                    snapshot, purpose: purpose, descending: descending, after: before ? nil : cursor,
                    before: before ? cursor : nil, limit: limit, now: now)
                do {
                    let got = try core.list(
                        tenant, purpose: purpose, descending: descending, after: before ? nil : cursor,
                        before: before ? cursor : nil, limit: limit, now: now)
                    let expected = try #require(want, "the cursor is known, yet the definition finds none")
                    #expect(got.page.map(\.id) == expected.ids, "round \(round): \(descending ? "desc" : "asc") \(before ? "before" : "after") \(cursor ?? "-") limit \(limit)")
                    #expect(got.hasMore == expected.hasMore)
                } catch SimulatorCore.ListError.unknownCursor {
                    #expect(want == nil)
                }
            }
        }
    }

    @Test("a page after a change lists the change: the kept order follows creates and deletes")
    func orderFollowsChanges() throws {
        let core = SimulatorCore(configuration: SimulatorConfiguration())
        let tenant = TenantID(flavor: .openai, apiKey: "sk")
        var ids: [String] = []
        for index in 0..<5 {
            let id = core.reserveFileID(flavor: .openai)
            _ = try core.commitFile(
                tenant: tenant, id: id, filename: "f\(index)", purpose: "assistants",
                content: .memory(ByteBuffer(bytes: [1])), size: 1, sha256: nil, createdAt: Int64(1_000 + index))
            ids.append(id)
        }
        #expect(try core.list(tenant, purpose: nil, descending: false, after: nil, limit: 10, now: 2_000).page.map(\.id) == ids)
        core.deleteFile(tenant, id: ids[1])
        let id = core.reserveFileID(flavor: .openai)
        _ = try core.commitFile(
            tenant: tenant, id: id, filename: "g", purpose: "assistants", content: .memory(ByteBuffer(bytes: [1])),
            size: 1, sha256: nil, createdAt: 999)
        let page = try core.list(tenant, purpose: nil, descending: false, after: nil, limit: 10, now: 2_000)
        #expect(page.page.map(\.id) == [id, ids[0], ids[2], ids[3], ids[4]])
        // The deleted file's cursor still places the next page.
        #expect(try core.list(tenant, purpose: nil, descending: false, after: ids[1], limit: 2, now: 2_000).page.map(\.id)
            == [ids[2], ids[3]])
    }
}
