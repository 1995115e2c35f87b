import FerryEngine
import Foundation

/// The revision of the manifests a run works from, recorded with the run and shown by the status view
/// (`observedRevision`, `lastAppliedRevision`, `lastAttemptedRevision`; docs/status-view.md).
///
/// 1. `FERRY_REVISION`, when set and not blank (trimmed, at most 200 characters): for CI systems that check out
///    without `.git`, or that want a tag or a pipeline id recorded instead.
/// 2. Else `git rev-parse HEAD` in the manifests directory, with `-dirty` appended when `git status` shows tracked
///    files under `--root` (manifests and sources) modified, staged or deleted: the same rule as
///    `git describe --dirty`, so untracked files (a state file, editor backups) do not count.
/// 3. Else nil: no git, not a repository, a repository without commits, or git slower than `timeoutSeconds`.
///    Detection never fails a run.
enum ManifestRevision {
    /// Longest wait for each git command.
    static let timeoutSeconds = 3.0
    /// Longest revision kept from `FERRY_REVISION`.
    static let maxLength = 200

    /// The revision of the manifests `configuration` reads.
    static func detect(for configuration: EngineConfiguration, environment: [String: String]) -> String? {
        let manifests =
            configuration.manifestsDirectory.isEmpty
            ? configuration.root : configuration.root + "/" + configuration.manifestsDirectory
        return detect(manifests: manifests, root: configuration.root, environment: environment)
    }

    /// - Parameters:
    ///   - manifests: the manifests directory (absolute); git runs there.
    ///   - root: the directory sources must stay inside (absolute); changes under it make the revision dirty.
    ///   - environment: where `FERRY_REVISION` is read.
    static func detect(manifests: String, root: String, environment: [String: String]) -> String? {
        if let given = environment["FERRY_REVISION"] {
            let trimmed = given.trimmingCharacters(in: .whitespacesAndNewlines)
            // One line of printable text: the value is shown on the dashboard and in logs.
            let line = String(
                trimmed.prefix { !$0.isNewline }.filter { character in
                    character.asciiValue.map { code in code >= 0x20 && code != 0x7F } ?? true
                })
            if !line.isEmpty { return String(line.prefix(maxLength)) }
        }
        guard
            let head = git(["rev-parse", "--verify", "--quiet", "HEAD"], in: manifests)?
                .trimmingCharacters(in: .whitespacesAndNewlines),
            head.count >= 40, head.allSatisfy(\.isHexDigit)
        else { return nil }
        let status = ["status", "--porcelain", "--untracked-files=no", "--ignore-submodules=dirty", "--"]
        // Sources live under --root; when the root reaches outside the repository, only the manifests are checked.
        guard let changes = git(status + [root], in: manifests) ?? git(status + ["."], in: manifests) else {
            return head
        }
        return changes.isEmpty ? head : head + "-dirty"
    }

    /// Runs `git -C directory arguments…`; its standard output, or nil when git is missing, fails or is too slow.
    static func git(_ arguments: [String], in directory: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        var environment = ProcessInfo.processInfo.environment
        // Read-only and non-interactive: no index refresh written by `git status`, no credential prompt.
        environment["GIT_OPTIONAL_LOCKS"] = "0"
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["LC_ALL"] = "C"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            return nil
        }
        // Output is read while git runs, so a long `git status` cannot fill the pipe and stall.
        let read = OutputBox()
        let reader = DispatchGroup()
        let handle = output.fileHandleForReading
        DispatchQueue.global().async(group: reader) { read.data = handle.readDataToEndOfFile() }
        let deadline = DispatchTime.now() + timeoutSeconds
        guard exited.wait(timeout: deadline) == .success else {
            process.terminate()
            return nil
        }
        guard reader.wait(timeout: deadline + 1) == .success,
            process.terminationReason == .exit, process.terminationStatus == 0
        else { return nil }
        return String(decoding: read.data, as: UTF8.self)
    }

    private final class OutputBox: @unchecked Sendable {
        var data = Data()
    }
}
