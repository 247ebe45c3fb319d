/// Why a backup, a restore or a writer restart could not be made, in words for the operator.
/// Errors the coordinator returns arrive as `BusError` with their `org.quiesce.Error.*` name.
public struct RequesterError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var description: String

    /// Creates an error.
    public init(_ description: String) {
        self.description = description
    }
}
