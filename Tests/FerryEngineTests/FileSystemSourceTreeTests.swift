import FerryCore
import Foundation
import Testing

@testable import FerryEngine

/// The manifest root on a real disk: the walk that feeds manifest discovery and FileSet globs, and the shared walk of
/// `walkingOnce()` that must answer exactly as a fresh walk of each folder would.
@Suite("File system source tree")
struct FileSystemSourceTreeTests {
    /// root/
    ///   models.yaml, docs/a.md, docs/sub/b.md, docs/sub/deep/c.txt, docs/.hidden/h.md, .git/config,
    ///   linked -> docs/sub (a symlinked folder), docs/link.md -> ../outside.md (a symlinked file), empty/
    static func makeRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-tree-\(UUID().uuidString)")
        let files = [
            "models.yaml", "docs/a.md", "docs/sub/b.md", "docs/sub/deep/c.txt", "docs/.hidden/h.md", ".git/config",
            "outside.md",
        ]
        for file in files {
            let url = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("content of \(file)\n".utf8).write(to: url)
        }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("linked").path, withDestinationPath: "docs/sub")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("docs/link.md").path, withDestinationPath: "../outside.md")
        return root
    }

    @Test("walks regular files and symlinks, sorted, skipping hidden entries")
    func walk() throws {
        let root = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let tree = try FileSystemSourceTree(root: root.path)
        #expect(
            tree.files(under: "") == [
                "docs/a.md", "docs/link.md", "docs/sub/b.md", "docs/sub/deep/c.txt", "linked", "models.yaml",
                "outside.md",
            ])
        #expect(tree.files(under: "docs/sub") == ["docs/sub/b.md", "docs/sub/deep/c.txt"])
        #expect(tree.files(under: "missing").isEmpty)
        #expect(tree.files(under: "empty").isEmpty)
    }

    @Test("a shared walk answers every folder as a fresh walk does, hidden and symlinked folders included")
    func walkingOnceMatchesFreshWalks() throws {
        let root = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let fresh = try FileSystemSourceTree(root: root.path)
        let shared = fresh.walkingOnce()
        // The root first, so every later folder could be answered from its walk.
        let folders = ["", "docs", "docs/sub", "docs/sub/deep", "docs/.hidden", "linked", "linked/deep", "empty", "nope"]
        for folder in folders {
            #expect(shared.files(under: folder) == fresh.files(under: folder), "folder '\(folder)'")
        }
        // Hidden and symlinked folders are not entered by the root's walk: they are walked on their own.
        #expect(shared.files(under: "docs/.hidden") == ["docs/.hidden/h.md"])
        #expect(shared.files(under: "linked") == ["linked/b.md", "linked/deep/c.txt"])
    }

    @Test("inspect: sizes, missing files, folders and symlinks leaving the root")
    func inspect() throws {
        let root = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let tree = try FileSystemSourceTree(root: root.appendingPathComponent("docs").path)
        #expect(tree.inspect("a.md") == .file(bytes: Int64("content of docs/a.md\n".utf8.count)))
        #expect(tree.inspect("nope.md") == .missing)
        #expect(tree.inspect("sub") == .notRegularFile)
        guard case .escapesRoot = tree.inspect("link.md") else {
            Issue.record("a symlink to a file outside the root must be refused: \(tree.inspect("link.md"))")
            return
        }
        // Inside means the root itself or below it: a sibling whose name starts like the root's is outside.
        #expect(tree.isInsideRoot(tree.root))
        #expect(tree.isInsideRoot(tree.root + "/a.md"))
        #expect(!tree.isInsideRoot(tree.root + "-other/a.md"))
        #expect(!tree.isInsideRoot(tree.root + "x"))
        #expect(!tree.isInsideRoot(String(tree.root.dropLast())))
    }
}
