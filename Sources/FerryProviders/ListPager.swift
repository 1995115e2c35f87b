import FerryCore

/// Walks cursor pages (OpenAI's `after`/`has_more`, Cloud Storage's `pageToken`) and decides when a listing is
/// complete, without doing any I/O. It refuses to go on when the server stops advancing: LiteLLM's proxy once
/// ignored `after`, and clients that trusted `has_more` looped forever.
struct ListPager: Sendable {
    /// Why a listing cannot be completed.
    struct Stall: Error, Hashable, CustomStringConvertible {
        let description: String
    }

    let maxPages: Int
    /// Whether a page may be empty yet point further (Cloud Storage does this; OpenAI never should).
    let allowsEmptyPages: Bool
    /// Files so far, in the order first seen; a file listed twice is kept once, as last seen.
    private(set) var files: [RemoteFile] = []
    /// Pages absorbed so far.
    private(set) var pages = 0
    /// `.some(nil)` before the first page, `.some(cursor)` for the next request, `nil` when the listing is complete.
    private(set) var nextCursor: String?? = .some(nil)

    /// `files` in an array of its own size: grown by doubling, two listings of 100,000 files kept about 9 MB of
    /// spare capacity for the rest of the pass.
    var exactFiles: [RemoteFile] {
        guard files.capacity - files.count > files.count / 16 else { return files }
        // (Not `Array(files[...])`: a slice of a whole array gives back the same buffer.)
        return [RemoteFile](unsafeUninitializedCapacity: files.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: files)
        }
    }

    private var position: [String: Int] = [:]
    private var usedCursors: Set<String> = []

    init(maxPages: Int, allowsEmptyPages: Bool = false) {
        self.maxPages = maxPages
        self.allowsEmptyPages = allowsEmptyPages
    }

    /// Takes one page and the cursor it points to (`nil` when it is the last page).
    /// - Throws: `Stall` when the server does not advance or the listing exceeds `maxPages`.
    mutating func absorb(_ pageFiles: [RemoteFile], next: String?) throws(Stall) {
        pages += 1
        for file in pageFiles {
            if let index = position[file.id] {
                files[index] = file
            } else {
                position[file.id] = files.count
                files.append(file)
            }
        }
        guard let next else {
            nextCursor = nil
            return
        }
        guard allowsEmptyPages || !pageFiles.isEmpty, !next.isEmpty else {
            throw Stall(description: "page \(pages) says there is more but gives nothing to continue from")
        }
        guard usedCursors.insert(next).inserted else {
            throw Stall(description: "the cursor \(next) came back on page \(pages); the server ignores it")
        }
        guard pages < maxPages else {
            throw Stall(description: "more than \(maxPages) pages")
        }
        nextCursor = .some(next)
    }
}

extension ListPager {
    /// Takes one page of OpenAI's `GET /files`: the cursor is `last_id`, or the last item's id.
    mutating func absorb(_ page: OpenAIFileList) throws(Stall) {
        let next = page.hasMore ? (page.lastID ?? page.data.last?.id ?? "") : nil
        try absorb(page.data.map { $0.remoteFile() }, next: next)
    }
}
