import Logging

/// Writes to standard error like `StreamLogHandler`, but drops the error Hummingbird logs for
/// the cancellation that `Simulator.stop()` itself causes.
struct SimulatorLogHandler: LogHandler {
    private var inner: StreamLogHandler
    private let stopping: Locked<Bool>

    init(label: String, stopping: Locked<Bool>) {
        self.inner = StreamLogHandler.standardError(label: label)
        self.stopping = stopping
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if stopping.withLock({ $0 }), "\(event.message)".contains("CancellationError") { return }
        inner.log(event: event)
    }
}
