/// A test's own failure (a peer that did not start, output that never appeared), with a message for the log.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
