#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Quiesce

/// The base class of every Quiesce writer. Subclass it, override the handlers your
/// application needs, and run it with ``WriterService``.
///
/// Every event handler returns `true` when it succeeded. Returning `false` or throwing
/// vetoes the event (code `non-retryable` unless ``setWriterFailure(_:message:)`` set another);
/// calling ``setWriterFailure(_:message:)`` vetoes it whatever the handler returns.
/// One writer handles one event at a time; Identify may arrive at any time.
///
/// ```swift
/// final class CacheWriter: Writer, @unchecked Sendable {
///     override func onIdentify(_ metadata: inout WriterMetadata) async throws {
///         metadata.components = [Component(name: "cache", files: [FileSpec(path: "/var/lib/cache")])]
///     }
///     override func onFreeze(_ session: WriterSession) async throws -> Bool { await cache.pause(); return true }
///     override func onThaw(_ session: WriterSession) async throws -> Bool { await cache.resume(); return true }
/// }
/// ```
open class Writer: @unchecked Sendable {
    /// The writer's name: its bus name is `org.quiesce.Writer.<name>`.
    public let name: String
    /// UUID of the kind of application, the same for every instance.
    public let classId: String
    /// UUID of this instance of the application.
    public let instanceId: String
    /// Where the writer sits in the freeze order.
    public let applicationLevel: ApplicationLevel
    /// The longest the writer may stay frozen; sent as the lease with Freeze.
    public let freezeTimeout: Duration
    /// How the writer's data is restored.
    public let restoreMethod: RestoreMethod

    /// Creates a writer.
    ///
    /// - Parameters:
    ///   - name: 1 to 64 ASCII letters, digits and `_`, not starting with a digit (the last
    ///     element of the bus name `org.quiesce.Writer.<name>`).
    ///   - classId: a UUID fixed for the kind of application (1 to 128 bytes).
    ///   - instanceId: a UUID for this instance; by default a new one each run.
    ///   - applicationLevel: where the writer sits in the freeze order (front-end writers freeze
    ///     first, system ones last).
    ///   - freezeTimeout: the longest the writer may stay frozen, 1 ms to 49 days.
    ///   - restoreMethod: how its data is restored (stop-restore-start, ...).
    /// - Throws: ``WriterUsageError/invalidWriter(_:)`` saying which value is wrong and why.
    public init(
        name: String,
        classId: String,
        instanceId: String = UUID().uuidString.lowercased(),
        applicationLevel: ApplicationLevel = .backEnd,
        freezeTimeout: Duration = .seconds(60),
        restoreMethod: RestoreMethod = .restoreIfCanReplace
    ) throws(WriterUsageError) {
        guard BusNames.isValidWriterName(name) else {
            throw .invalidWriter("invalid writer name \(name.debugDescription): use 1 to 64 ASCII letters, digits and _, not starting with a digit")
        }
        for (what, id) in [("class id", classId), ("instance id", instanceId)] where id.isEmpty || id.utf8.count > 128 {
            throw .invalidWriter("invalid \(what) \(id.debugDescription) of writer \(name): use 1 to 128 bytes, a UUID by convention")
        }
        guard freezeTimeout >= .milliseconds(1), freezeTimeout.wholeMilliseconds <= Int64(UInt32.max) else {
            throw .invalidWriter("invalid freeze timeout \(freezeTimeout) of writer \(name): use 1 ms to \(UInt32.max) ms")
        }
        self.name = name
        self.classId = classId
        self.instanceId = instanceId
        self.applicationLevel = applicationLevel
        self.freezeTimeout = freezeTimeout
        self.restoreMethod = restoreMethod
    }

    /// The metadata the writer reports before ``onIdentify(_:)`` adds its components.
    public var baseMetadata: WriterMetadata {
        WriterMetadata(
            name: name,
            classId: classId,
            instanceId: instanceId,
            applicationLevel: applicationLevel,
            freezeTimeoutMilliseconds: UInt32(clamping: freezeTimeout.wholeMilliseconds),
            restoreMethod: restoreMethod
        )
    }

    // MARK: - Handlers

    /// Identify: describe the writer's components. Must not keep state; may arrive at any time.
    open func onIdentify(_ metadata: inout WriterMetadata) async throws {}

    /// PrepareForBackup: a backup of the selected components starts.
    open func onPrepareBackup(_ session: WriterSession) async throws -> Bool { true }

    /// PrepareForSnapshot: heavy preparation (checkpoints, draining queues) before Freeze.
    open func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool { true }

    /// Freeze: hold application writes until ``onThaw(_:)`` or ``onAbort(_:)``. Keep it short.
    open func onFreeze(_ session: WriterSession) async throws -> Bool { true }

    /// Thaw: the snapshot is taken; let writes go.
    open func onThaw(_ session: WriterSession) async throws -> Bool { true }

    /// PostSnapshot: the snapshot set exists; clean up what PrepareForSnapshot made.
    open func onPostSnapshot(_ session: WriterSession) async throws -> Bool { true }

    /// Abort: the snapshot set was abandoned, the coordinator vanished, or the freeze lease ran
    /// out. Return the application to normal running. May be called more than once.
    open func onAbort(_ session: WriterSession) async throws -> Bool { true }

    /// BackupComplete: the requester has its copy (``WriterSession/backupSucceeded``).
    open func onBackupComplete(_ session: WriterSession) async throws -> Bool { true }

    /// BackupShutdown: the session is over, whether or not BackupComplete came.
    open func onBackupShutdown(_ session: WriterSession) async throws -> Bool { true }

    /// PreRestore: the selected components' files are about to be put back.
    open func onPreRestore(_ session: WriterSession) async throws -> Bool { true }

    /// PostRestore: the selected components' files have been put back.
    open func onPostRestore(_ session: WriterSession) async throws -> Bool { true }

    /// Calls the handler of `event`.
    final func handle(_ event: WriterEvent, _ session: WriterSession) async throws -> Bool {
        switch event {
        case .identify: true
        case .prepareForBackup: try await onPrepareBackup(session)
        case .prepareForSnapshot: try await onPrepareSnapshot(session)
        case .freeze: try await onFreeze(session)
        case .thaw: try await onThaw(session)
        case .postSnapshot: try await onPostSnapshot(session)
        case .abort: try await onAbort(session)
        case .backupComplete: try await onBackupComplete(session)
        case .backupShutdown: try await onBackupShutdown(session)
        case .preRestore: try await onPreRestore(session)
        case .postRestore: try await onPostRestore(session)
        }
    }
}
