/// How a coordinator runs.
public struct CoordinatorConfiguration: Sendable {
    /// Where state that outlives a session lives (interrupted restores' journals).
    public var stateDirectory: String
    /// Where snapshot providers put snapshot sets.
    public var snapshotRoot: String
    /// The provider used when a requester names none; `nil`: one per volume, the first of
    /// btrfs, reflink, freeze, command and copy that can take it.
    public var defaultProvider: String?
    /// The largest volume (bytes of file data) the copy provider takes when nobody named it.
    public var copySizeLimit: Int64
    /// The longest the snapshot step may keep writers frozen; past it the set fails.
    public var writeHoldLimit: Duration
    /// The `freeze` provider's device-snapshot command, if an administrator configured one.
    public var freezeCommand: SnapshotCommand?
    /// The `command` provider's snapshot command, if configured.
    public var snapshotCommand: SnapshotCommand?
    /// The `quiesce-freeze` helper.
    public var freezeHelper: String
    /// How long to wait for writers, per event.
    public var timeouts: PhaseTimeouts
    /// The most writer calls in flight at once (the system bus allows 128 pending replies per
    /// connection by default).
    public var maxCallsInFlight: Int
    /// The most sessions open at once.
    public var maxSessions: Int
    /// A session whose requester has not called it for this long is aborted and closed.
    public var sessionIdleTimeout: Duration
    /// Who may create sessions and read the history besides root and the coordinator's own user.
    public var access: AccessPolicy
    /// The most closed sessions kept in the history.
    public var historyLimit: Int

    /// Creates a configuration.
    public init(
        stateDirectory: String = "/var/lib/quiesce",
        snapshotRoot: String = "/var/lib/quiesce/snapshots",
        defaultProvider: String? = nil,
        copySizeLimit: Int64 = 256 << 20,
        writeHoldLimit: Duration = .seconds(10),
        freezeCommand: SnapshotCommand? = nil,
        snapshotCommand: SnapshotCommand? = nil,
        freezeHelper: String = SnapshotCommand.defaultHelper,
        timeouts: PhaseTimeouts = .defaults,
        maxCallsInFlight: Int = 120,
        maxSessions: Int = 16,
        sessionIdleTimeout: Duration = .seconds(1800),
        access: AccessPolicy = AccessPolicy(),
        historyLimit: Int = 200
    ) {
        self.stateDirectory = stateDirectory
        self.snapshotRoot = snapshotRoot
        self.defaultProvider = defaultProvider
        self.copySizeLimit = copySizeLimit
        self.writeHoldLimit = writeHoldLimit
        self.freezeCommand = freezeCommand
        self.snapshotCommand = snapshotCommand
        self.freezeHelper = freezeHelper
        self.timeouts = timeouts
        self.maxCallsInFlight = maxCallsInFlight
        self.maxSessions = maxSessions
        self.sessionIdleTimeout = sessionIdleTimeout
        self.access = access
        self.historyLimit = historyLimit
    }
}
