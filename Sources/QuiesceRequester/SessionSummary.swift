/// An open session as `quiescectl status` lists it.
public struct SessionSummary: Codable, Sendable, Hashable {
    /// The session id.
    public var id: String
    /// Its object path.
    public var path: String
    /// Where it is in its sequence (`nil`: a phase this version does not know).
    public var phase: SessionPhase?
    /// The unique bus name of its creator.
    public var owner: String
    /// Its snapshot set, empty before DoSnapshotSet.
    public var snapshotSetId: String
}
