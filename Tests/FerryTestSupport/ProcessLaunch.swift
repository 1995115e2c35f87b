import Foundation

extension Process {
    /// `run()`, one launch at a time across the test process. Two tests launching at once crashed the suite inside
    /// Foundation's `Process.run()` (SIGSEGV in `memmove` while it handled the descriptors to close in the child; the
    /// test process had more than 1,300 descriptors open: sockets, databases, pipes of other tests).
    public func launchSerially() throws {
        try ProcessLaunchLock.lock.withLock { try run() }
    }
}

private enum ProcessLaunchLock {
    static let lock = NSLock()
}
