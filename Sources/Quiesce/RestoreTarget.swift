/// Where a restore puts the files back (VSS's `VSS_RESTORE_TARGET`).
public enum RestoreTarget: String, Codable, Sendable, CaseIterable {
    /// Over the volumes they were backed up from.
    case original
    /// Below another directory, each volume at its own path there; the live data is untouched.
    case alternate
}
