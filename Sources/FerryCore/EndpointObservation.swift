/// One endpoint's latest listing, or why it could not be taken.
public struct EndpointObservation: Hashable, Codable, Sendable {
    public var endpointID: String
    /// nil when the listing failed.
    public var files: [RemoteFile]?
    public var error: String?
    /// Unix seconds.
    public var observedAt: Int64

    public init(endpointID: String, files: [RemoteFile]?, error: String? = nil, observedAt: Int64) {
        self.endpointID = endpointID
        self.files = files
        self.error = error
        self.observedAt = observedAt
    }
}
