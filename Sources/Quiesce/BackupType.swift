/// The kind of backup the requester makes (VSS_BACKUP_TYPE).
public enum BackupType: String, Codable, Sendable, CaseIterable {
    case full, incremental, differential, log, copy, other
}
