/// A failure of one component (VSS's `IVssComponentEx2::SetFailure`), reported with the writer
/// failure `partial-failure`.
public struct ComponentFailure: Codable, Sendable, Hashable {
    /// The failure code.
    public var code: FailureCode
    /// The application's own error number, 0 when it has none.
    public var applicationError: Int32
    /// The writer's explanation.
    public var message: String

    /// Creates a component failure.
    public init(code: FailureCode, applicationError: Int32 = 0, message: String = "") {
        self.code = code
        self.applicationError = applicationError
        self.message = message
    }
}

/// What a writer said about one of its selected components during a session.
public struct ComponentStatus: Codable, Sendable, Hashable {
    /// The component's full path.
    public var fullPath: String
    /// Failure messages by the event they were set in (PrepareForBackup, PostSnapshot,
    /// PreRestore, PostRestore).
    public var failureMessages: [String: String]
    /// The component's failure, if the writer reported one.
    public var failure: ComponentFailure?
    /// Private data the writer stores with the backup (set once, during the backup).
    public var backupMetadata: String?
    /// Private data the writer wants back at restore (set once).
    public var restoreMetadata: String?

    /// Creates a component status.
    public init(
        fullPath: String,
        failureMessages: [String: String] = [:],
        failure: ComponentFailure? = nil,
        backupMetadata: String? = nil,
        restoreMetadata: String? = nil
    ) {
        self.fullPath = fullPath
        self.failureMessages = failureMessages
        self.failure = failure
        self.backupMetadata = backupMetadata
        self.restoreMetadata = restoreMetadata
    }

    /// Adds what `report` says; later values replace earlier ones.
    public mutating func merge(_ report: ComponentStatus) {
        failureMessages.merge(report.failureMessages) { $1 }
        failure = report.failure ?? failure
        backupMetadata = report.backupMetadata ?? backupMetadata
        restoreMetadata = report.restoreMetadata ?? restoreMetadata
    }

    /// Whether the component holds nothing but its path.
    public var isEmpty: Bool {
        failureMessages.isEmpty && failure == nil && backupMetadata == nil && restoreMetadata == nil
    }
}
