/// What the requester does when a writer vetoes: a *required* writer's veto fails the step (and
/// aborts the snapshot set); an *optional* writer's veto is recorded, the backup goes on, and its
/// components are labelled crash-consistent.
public enum WriterPolicy: String, Codable, Sendable, CaseIterable {
    case required
    case optional
}
