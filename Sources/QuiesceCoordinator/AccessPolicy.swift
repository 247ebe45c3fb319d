import Foundation

/// Who may start and drive sessions: root, the coordinator's own user, and the members of an
/// optional group. The coordinator asks the bus for each caller's uid and groups (the bus
/// knows them from the socket, so they cannot be forged).
public struct AccessPolicy: Sendable, Hashable {
    /// Users allowed besides root.
    public var allowedUsers: Set<UInt32>
    /// A group whose members are allowed.
    public var allowedGroup: String?

    /// Creates a policy; the coordinator's own user is always allowed.
    public init(allowedUsers: Set<UInt32> = [], allowedGroup: String? = nil) {
        self.allowedUsers = allowedUsers.union([0, getuid()])
        self.allowedGroup = allowedGroup
    }

    /// The group the shipped bus policy (`dbus/org.quiesce.conf`) lets run backups, and the
    /// default allowed group when it exists on this system.
    public static let defaultGroup = "quiesce"

    /// Whether `uid`, with the `groups` the bus saw on its connection, may create sessions: one
    /// of the allowed users, or a member of the allowed group (one of `groups`, its primary
    /// group, or listed in /etc/group).
    public func allows(uid: UInt32, groups: [UInt32] = []) -> Bool {
        if allowedUsers.contains(uid) { return true }
        guard let allowedGroup, let group = Self.group(named: allowedGroup) else { return false }
        if groups.contains(group.gid) || Self.primaryGroup(of: uid) == group.gid { return true }
        guard let user = Self.userName(of: uid) else { return false }
        return group.members.contains(user)
    }

    /// Whether `name` is a group of this system.
    public static func groupExists(_ name: String) -> Bool { group(named: name) != nil }

    // /etc/passwd and /etc/group are read as text: no unsafe C outside QuiesceBus.
    private static func records(_ file: String) -> [[Substring]] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map {
            $0.split(separator: ":", omittingEmptySubsequences: false)
        }
    }

    private static func group(named name: String) -> (gid: UInt32, members: [String])? {
        guard let record = records("/etc/group").first(where: { $0.count >= 4 && $0[0] == name }), let gid = UInt32(record[2]) else { return nil }
        return (gid, record[3].split(separator: ",").map(String.init))
    }

    private static func passwd(_ uid: UInt32) -> [Substring]? {
        records("/etc/passwd").first { $0.count >= 4 && UInt32($0[2]) == uid }
    }

    private static func primaryGroup(of uid: UInt32) -> UInt32? { passwd(uid).flatMap { UInt32($0[3]) } }

    private static func userName(of uid: UInt32) -> String? { passwd(uid).map { String($0[0]) } }
}
