#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceServiceBus
import ServiceLifecycle

/// Runs a ``Writer`` on the bus as `org.quiesce.Writer.<name>` at `/org/quiesce/Writer`.
///
/// While it runs, the writer answers events and admins read its `Name`, `ClassId`,
/// `InstanceId`, `State` and `LastError` with `busctl get-property`. When it stops (cancelled,
/// SIGTERM, or its bus connection lost) it first aborts every session that may be frozen.
public struct WriterService: Service {
    /// The writer served.
    public let writer: Writer
    /// The bus the writer joins.
    public let bus: BusAddress
    private let logger: Logger
    private let onReady: @Sendable () -> Void

    /// Creates a service for `writer` on `bus`; `onReady` runs once the bus name is owned.
    public init(writer: Writer, bus: BusAddress = .system, logger: Logger? = nil, onReady: @escaping @Sendable () -> Void = {}) {
        self.writer = writer
        self.bus = bus
        self.logger = logger ?? Logger(label: "quiesce.writer.\(writer.name)")
        self.onReady = onReady
    }

    /// Serves the writer until the task is cancelled, a graceful shutdown is requested, or the
    /// bus connection is lost.
    public func run() async throws {
        let connection = try await ServingConnection.connect(to: bus)
        let engine = WriterEngine(
            writer: writer, connection: connection, logger: logger, properties: PropertyAnnouncer(settle: Self.propertySettle, limit: .seconds(2))
        )
        let interface = try InterfaceDescription(xml: Writer1.xml, name: Writer1.name)
        let object = try connection.export(
            path: BusNames.writerPath, interface: interface, properties: engine.initialProperties
        ) { call in
            try await Writer1.dispatch(call, to: engine)
        }
        await engine.attach(object)
        try await engine.followCoordinator()
        let busName = BusNames.writerBusName(writer.name)
        try await connection.requestName(busName)
        logger.info("writer \(writer.name) is on \(bus) as \(busName) (\(connection.uniqueName))")
        onReady()

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await connection.waitUntilClosed()
            } onCancel: {
                Task { await connection.close() }
            }
        } onGracefulShutdown: {
            Task { await connection.close() }
        }
        await engine.abortAll(reason: "the writer is shutting down")
        if !connection.isClosed { await connection.close() }
        logger.info("writer \(writer.name) stopped")
    }

    /// How long a writer waits for more property changes before it announces them with one
    /// PropertiesChanged (and at most 2 s after the first change): 500 ms, longer than one
    /// step of a backup with 200 writers, or the milliseconds in the environment variable
    /// `QUIESCE_PROPERTY_SETTLE_MS` (0: a signal after every event; at most 2000). A property
    /// read sees every change at once, and the replies carry them to quiesced.
    public static var propertySettle: Duration {
        guard let text = ProcessInfo.processInfo.environment["QUIESCE_PROPERTY_SETTLE_MS"], let milliseconds = UInt32(text) else {
            return .milliseconds(500)
        }
        return .milliseconds(Int64(min(milliseconds, 2000)))
    }

    /// Runs the service until SIGTERM or SIGINT, then shuts it down cleanly.
    public func runUntilTerminated() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: self)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
