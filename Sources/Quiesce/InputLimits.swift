/// The bounds on what writers and requesters may send. Anything larger is refused with
/// `org.quiesce.Error.TooLarge` (a requester) or recorded in the writer's status (a writer), so
/// that no single party can make the coordinator exceed the bus's message size or its memory.
public enum InputLimits {
    /// An Identify reply (the writer metadata JSON), in bytes.
    public static let identifyReplyBytes = 1 << 20
    /// Components one writer may declare.
    public static let componentsPerWriter = 1024
    /// File specifications one writer may declare, over all its components.
    public static let filesPerWriter = 4096
    /// One component's backup or restore metadata, in bytes.
    public static let componentMetadataBytes = 256 << 10
    /// All backup and restore metadata of one writer in one session, in bytes.
    public static let writerMetadataBytes = 1 << 20
    /// A failure message, in bytes (longer ones are cut).
    public static let messageBytes = 4096
    /// A backup document given to PreRestore or read by `quiescectl restore`, in bytes.
    public static let restoreDocumentBytes = 16 << 20
    /// Any one reply of the coordinator (metadata, status, backup document), in bytes: below the
    /// system bus's 32 MiB message limit, which would otherwise disconnect the coordinator.
    public static let replyBytes = 24 << 20
    /// Volumes in one snapshot set.
    public static let volumesPerSet = 64
    /// Writers one backup document may describe.
    public static let writersPerDocument = 1024

    /// `text` cut to `limit` bytes at a character boundary, with `…` when it was cut.
    public static func truncated(_ text: String, to limit: Int = messageBytes) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        for character in text {
            guard result.utf8.count + character.utf8.count <= limit - 3 else { break }
            result.append(character)
        }
        return result + "…"
    }
}
