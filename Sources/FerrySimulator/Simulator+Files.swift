import Foundation
import Hummingbird

/// OpenAI and Azure OpenAI files: inspection and set-up. None of these count as requests or meet faults.
extension Simulator {
    /// A tenant's files, oldest first (by created_at, then id). Expired files are left out.
    public func files(apiKey: String, flavor: SimulatorFlavor = .openai) -> [SimulatedFile] {
        let now = SimulatorCore.now()
        return core.allFiles(TenantID(flavor: flavor, apiKey: apiKey))
            .filter { record in record.expiresAt.map { now < Double($0) } ?? true }
            .map { core.simulatedFile($0, now: now) }
    }

    /// The bytes of a tenant's file, or nil when there is no such file.
    public func fileContent(apiKey: String, flavor: SimulatorFlavor = .openai, id: String) -> [UInt8]? {
        let tenant = TenantID(flavor: flavor, apiKey: apiKey)
        guard core.file(tenant, id: id, now: SimulatorCore.now()) != nil, let content = core.content(of: tenant, id: id)
        else { return nil }
        return ContentReader.readAll(content)
    }

    /// Adds a file as if someone else had uploaded it (no request is counted, no fault applies).
    /// `createdAt` (unix seconds) defaults to now; a past value also makes the file visible despite list lag.
    @discardableResult
    public func seedFile(
        apiKey: String, flavor: SimulatorFlavor = .openai, filename: String, purpose: String, data: [UInt8],
        createdAt: Int64? = nil
    ) -> SimulatedFile {
        let tenant = TenantID(flavor: flavor, apiKey: apiKey)
        let id = core.reserveFileID(flavor: flavor)
        let sha = Digests.sha256Hex(data)
        do {
            let record = try core.commitFile(
                tenant: tenant, id: id, filename: filename, purpose: purpose, content: .memory(ByteBuffer(bytes: data)),
                size: Int64(data.count), sha256: sha, createdAt: createdAt,
                expiresAfterSeconds: flavor == .gemini ? core.geminiLifetimeSeconds : nil)
            return core.simulatedFile(record, now: SimulatorCore.now())
        } catch {
            preconditionFailure("Simulator.seedFile could not store \(filename): \(error)")
        }
    }

    /// Deletes a file out of band (as if someone else had deleted it). Unknown ids are ignored.
    public func removeFile(apiKey: String, flavor: SimulatorFlavor = .openai, id: String) {
        core.deleteFile(TenantID(flavor: flavor, apiKey: apiKey), id: id)
    }
}
