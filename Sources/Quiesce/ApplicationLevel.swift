/// Where a writer sits in the freeze order: front-ends freeze first and thaw last,
/// system writers freeze last and thaw first.
public enum ApplicationLevel: String, Codable, Sendable, CaseIterable, Comparable {
    case frontEnd = "front-end"
    case backEnd = "back-end"
    case system

    /// Freeze order: front-end, back-end, system.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
