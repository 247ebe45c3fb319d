/// A change of a bus name's owner (the bus's NameOwnerChanged signal).
public struct NameOwnerChange: Sendable, Hashable {
    /// The name.
    public var name: String
    /// The previous owner's unique name, `nil` if the name was free.
    public var oldOwner: String?
    /// The new owner's unique name, `nil` if the name is now free.
    public var newOwner: String?

    /// A change of `name` from `oldOwner` to `newOwner`.
    public init(name: String, oldOwner: String?, newOwner: String?) {
        self.name = name
        self.oldOwner = oldOwner
        self.newOwner = newOwner
    }
}

/// Why ``BusCalling/requestName(_:replaceExisting:allowReplacement:)`` failed.
public enum NameRequestError: Error, Sendable, CustomStringConvertible {
    /// Another connection owns the name.
    case nameTaken(String)

    /// A message for people.
    public var description: String {
        switch self {
        case .nameTaken(let name): "the bus name \(name) is already owned by another process"
        }
    }
}

/// A connection to a message bus that calls methods and follows signals; the bus's own methods
/// (names, activation, credentials) are built on these two. ``BusConnection`` (GDBus) is one,
/// and so is the libdbus-1 connection of `QuiesceServiceBus` that writers and quiesced serve on.
public protocol BusCalling: Sendable {
    /// Calls a method and waits for its reply: the reply's arguments, or a ``BusError`` with the
    /// peer's error name, a timeout (``BusError/isTimeout``) or a peer gone
    /// (``BusError/isPeerGone``). `destination` is `nil` on a peer-to-peer connection; a `nil`
    /// timeout waits for ever.
    func call(
        destination: String?, path: String, interface: String, method: String, arguments: [BusValue], timeout: Duration?
    ) async throws -> [BusValue]

    /// Subscribes to the signals `filter` matches; `handler` runs on the bus thread and must
    /// return quickly (hand the signal to a stream or a task).
    func subscribe(to filter: SignalFilter, handler: @escaping @Sendable (BusSignal) -> Void) async throws -> SignalSubscription
}

/// Which names ``BusCalling/nameOwnerChanges(of:)`` follows.
public enum BusNameFilter: Sendable, Hashable {
    /// Every name.
    case all
    /// One name (unique or well-known).
    case name(String)
    /// A name and every name below it: `org.quiesce.Writer` follows `org.quiesce.Writer.*`.
    case namespace(String)
}

extension BusCalling {
    /// Subscribes to signals matching every non-nil argument (see ``SignalFilter``).
    public func subscribe(
        sender: String? = nil,
        interface: String? = nil,
        member: String? = nil,
        path: String? = nil,
        arg0: String? = nil,
        arg0IsNamespace: Bool = false,
        handler: @escaping @Sendable (BusSignal) -> Void
    ) async throws -> SignalSubscription {
        try await subscribe(
            to: SignalFilter(sender: sender, interface: interface, member: member, path: path, arg0: arg0, arg0IsNamespace: arg0IsNamespace),
            handler: handler
        )
    }

    private static var bus: String { "org.freedesktop.DBus" }
    private static var busPath: String { "/org/freedesktop/DBus" }

    /// Calls a method of the bus itself (`org.freedesktop.DBus`).
    package func callBus(_ method: String, _ arguments: [BusValue] = [], timeout: Duration = .seconds(25)) async throws -> [BusValue] {
        try await call(destination: Self.bus, path: Self.busPath, interface: Self.bus, method: method, arguments: arguments, timeout: timeout)
    }

    /// Becomes the primary owner of `name`, or throws ``NameRequestError/nameTaken(_:)``.
    public func requestName(_ name: String, replaceExisting: Bool = false, allowReplacement: Bool = false) async throws {
        let flags: UInt32 = (allowReplacement ? 1 : 0) | (replaceExisting ? 2 : 0) | 4  // 4: do not queue
        let reply = try await callBus("RequestName", [.string(name), .uint32(flags)])
        switch reply.first?.uint64Value {
        case 1, 4: return  // primary owner, already owner
        default: throw NameRequestError.nameTaken(name)
        }
    }

    /// Every name on the bus, unique and well-known.
    public func listNames() async throws -> [String] {
        try await callBus("ListNames").first?.stringArray ?? []
    }

    /// Every name the bus can start on demand (from the service files in its service directories).
    public func listActivatableNames() async throws -> [String] {
        try await callBus("ListActivatableNames").first?.stringArray ?? []
    }

    /// Asks the bus to start the program that owns `name` (D-Bus activation) and waits until it
    /// owns the name, or throws the bus's error (`org.freedesktop.DBus.Error.Spawn.*`, `TimedOut`,
    /// `ServiceUnknown`). Returns at once when the name already has an owner.
    public func startService(_ name: String, timeout: Duration = .seconds(120)) async throws {
        _ = try await callBus("StartServiceByName", [.string(name), .uint32(0)], timeout: timeout)
    }

    /// The unique name owning `name`, or `nil` if nobody does.
    public func nameOwner(_ name: String) async throws -> String? {
        do {
            return try await callBus("GetNameOwner", [.string(name)]).first?.stringValue
        } catch let error as BusError where error.name == BusError.nameHasNoOwner {
            return nil
        }
    }

    /// The Unix uid of the process behind a connection (`name` unique or well-known).
    public func unixUser(of name: String) async throws -> UInt32 {
        guard let uid = try await callBus("GetConnectionUnixUser", [.string(name)]).first?.uint64Value else {
            throw BusError(name: BusError.failed, message: "the bus did not return a uid for \(name)")
        }
        return UInt32(uid)
    }

    /// The Unix uid and groups of the process behind a connection, as the bus saw them when it
    /// connected (`GetConnectionCredentials`; groups are empty where the bus does not know them).
    public func unixCredentials(of name: String) async throws -> (uid: UInt32, groups: [UInt32]) {
        let credentials = try await callBus("GetConnectionCredentials", [.string(name)]).first?.stringKeyedDictionary ?? [:]
        guard case .uint32(let uid) = credentials["UnixUserID"] ?? .uint32(UInt32.max), uid != UInt32.max else {
            throw BusError(name: BusError.failed, message: "the bus did not return credentials for \(name)")
        }
        let groups = (credentials["UnixGroupIDs"]?.elements ?? []).compactMap { value -> UInt32? in
            if case .uint32(let gid) = value { return gid }
            return nil
        }
        return (uid, groups)
    }

    /// The Unix process id of the process behind a connection.
    public func unixProcessID(of name: String) async throws -> UInt32 {
        guard let pid = try await callBus("GetConnectionUnixProcessID", [.string(name)]).first?.uint64Value else {
            throw BusError(name: BusError.failed, message: "the bus did not return a pid for \(name)")
        }
        return UInt32(pid)
    }

    /// Changes of name owners, filtered by the bus. The subscription is in place when this
    /// returns; it ends when the stream's consumer stops.
    public func nameOwnerChanges(of filter: BusNameFilter = .all) async throws -> AsyncStream<NameOwnerChange> {
        let (stream, continuation) = AsyncStream<NameOwnerChange>.makeStream()
        var arg0: String?
        var isNamespace = false
        switch filter {
        case .all: break
        case .name(let name): arg0 = name
        case .namespace(let namespace): (arg0, isNamespace) = (namespace, true)
        }
        let subscription = try await subscribe(
            sender: Self.bus, interface: Self.bus, member: "NameOwnerChanged", path: Self.busPath, arg0: arg0, arg0IsNamespace: isNamespace
        ) { signal in
            guard signal.arguments.count == 3, let name = signal.arguments[0].stringValue else { return }
            let old = signal.arguments[1].stringValue ?? ""
            let new = signal.arguments[2].stringValue ?? ""
            continuation.yield(NameOwnerChange(name: name, oldOwner: old.isEmpty ? nil : old, newOwner: new.isEmpty ? nil : new))
        }
        continuation.onTermination = { _ in subscription.cancel() }
        return stream
    }
}
