import Quiesce
import QuiesceBus

/// Answers `org.quiesce.Session1` calls for one ``BackupSession``: checks the caller and the
/// arguments, and runs the session's steps one at a time.
struct SessionEndpoint: Sendable {
    let session: BackupSession
    let connection: BusConnection
    let queue: SerialQueue
    let onClose: @Sendable () async -> Void

    func handle(_ call: BusMethodCall) async throws -> [BusValue] {
        switch call.method {
        case "GetWriterStatus":
            // Anyone may read the status; the writers' private metadata only its owner and root.
            let status = await session.writerStatus
            let full = try await isOwnerOrRoot(call.sender)
            return [.string(try Self.reply(full ? status : status.map(\.withoutMetadata)))]
        case "GetBackupDocument":
            guard try await isOwnerOrRoot(call.sender) else {
                throw BackupSession.error(.accessDenied, "the backup document (snapshot paths, writer metadata) of session \(session.id) is readable only by its owner and root")
            }
            return [.string(try Self.reply(await session.backupDocument))]
        default:
            break
        }
        guard call.sender == session.owner else {
            throw BackupSession.error(.accessDenied, "only the connection that created session \(session.id) may drive it")
        }
        await session.touch()
        return try await queue.run { try await perform(call) }
    }

    private func perform(_ call: BusMethodCall) async throws -> [BusValue] {
        let arguments = call.arguments
        switch call.method {
        case "GatherWriterMetadata":
            return [.string(try Self.reply(await session.gatherWriterMetadata()))]
        case "AddVolumes":
            guard let volumes = arguments.first?.stringArray else { throw Self.invalid("expected as") }
            try await session.addVolumes(volumes)
            return []
        case "SelectComponents":
            guard let pairs = arguments.first?.elements?.compactMap(Self.pair), pairs.count == arguments.first?.elements?.count
            else { throw Self.invalid("expected a(ss)") }
            try await session.selectComponents(pairs)
            return []
        case "SetWriterPolicy":
            guard let rows = arguments.first?.elements else { throw Self.invalid("expected a(sss)") }
            let rules = try rows.map { row -> (writer: String, component: String, policy: WriterPolicy) in
                guard let fields = row.elements?.compactMap(\.stringValue), fields.count == 3 else { throw Self.invalid("expected a(sss)") }
                guard let policy = WriterPolicy(rawValue: fields[2]) else { throw Self.invalid("policy must be required or optional, not \(fields[2])") }
                return (fields[0], fields[1], policy)
            }
            try await session.setWriterPolicy(rules)
            return []
        case "PrepareForBackup":
            let options = try Self.options(arguments, allowed: ["backup-type"])
            var type = BackupType.full
            if let value = options["backup-type"] {
                guard let parsed = value.stringValue.flatMap(BackupType.init(rawValue:)) else {
                    throw Self.invalid("backup-type must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                type = parsed
            }
            try await session.prepareForBackup(backupType: type)
            return []
        case "DoSnapshotSet":
            let options = try Self.options(arguments, allowed: ["provider"])
            if let value = options["provider"], value.stringValue == nil { throw Self.invalid("provider must be s") }
            let (setId, snapshots) = try await session.doSnapshotSet(providerName: options["provider"]?.stringValue)
            return [.vardict(["snapshot-set-id": .string(setId), "snapshots": .stringDictionary(snapshots)])]
        case "BackupComplete":
            guard let succeeded = arguments.first?.boolValue else { throw Self.invalid("expected b") }
            try await session.backupComplete(succeeded: succeeded)
            return []
        case "AbortBackup":
            try await session.abortBackup()
            return []
        case "GatherWriterStatus":
            return [.string(try Self.reply(await session.gatherWriterStatus()))]
        case "PreRestore":
            guard arguments.count == 2, let text = arguments[0].stringValue else { throw Self.invalid("expected (s document, a{sv} options)") }
            let options = try Self.options(Array(arguments.dropFirst()), allowed: ["alternate-location"])
            if let value = options["alternate-location"], value.stringValue == nil { throw Self.invalid("alternate-location must be s") }
            guard text.utf8.count <= InputLimits.restoreDocumentBytes else {
                throw BackupSession.error(.tooLarge, "the backup document is \(text.utf8.count) bytes; the limit is \(InputLimits.restoreDocumentBytes)")
            }
            let document: BackupDocument
            do { document = try JSONCoding.decode(BackupDocument.self, from: text) } catch {
                throw Self.invalid("the backup document cannot be read: \(error)")
            }
            try await session.preRestore(document: document, alternateLocation: options["alternate-location"]?.stringValue)
            return []
        case "PostRestore":
            let options = try Self.options(arguments, allowed: ["succeeded"])
            if let value = options["succeeded"], value.boolValue == nil { throw Self.invalid("succeeded must be b") }
            try await session.postRestore(succeeded: options["succeeded"]?.boolValue ?? true)
            return []
        case "Close":
            await session.close()
            await onClose()
            return [.string(try Self.reply(await session.writerStatus))]
        default:
            throw BusError(name: "org.freedesktop.DBus.Error.UnknownMethod", message: "no method \(call.method)")
        }
    }

    /// Whether `sender` runs as the session owner's user or as root.
    private func isOwnerOrRoot(_ sender: String) async throws -> Bool {
        if sender == session.owner { return true }
        let uid = try await connection.unixUser(of: sender)
        return uid == 0 || uid == session.ownerUID
    }

    /// A JSON reply, refused with `TooLarge` rather than sent over the bus's message limit
    /// (which would make the bus disconnect the coordinator).
    static func reply<T: Encodable>(_ value: T) throws -> String {
        let text = try JSONCoding.encode(value)
        guard text.utf8.count <= InputLimits.replyBytes else {
            throw BackupSession.error(.tooLarge, "the reply would be \(text.utf8.count) bytes; the limit is \(InputLimits.replyBytes)")
        }
        return text
    }

    /// Aborts and closes the session after the step in progress, if any.
    func abandon(reason: String) async {
        await queue.run {
            await session.abandon(reason: reason)
            await onClose()
        }
    }

    private static func pair(_ value: BusValue) -> (String, String)? {
        guard let fields = value.elements, fields.count == 2, let a = fields[0].stringValue, let b = fields[1].stringValue else { return nil }
        return (a, b)
    }

    private static func options(_ arguments: [BusValue], allowed: Set<String>) throws -> [String: BusValue] {
        guard let options = arguments.first?.stringKeyedDictionary else { throw invalid("expected a{sv}") }
        if let unknown = options.keys.first(where: { !allowed.contains($0) }) {
            throw invalid("unknown option \(unknown); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        return options
    }

    private static func invalid(_ message: String) -> BusError {
        BackupSession.error(.invalidArgument, message)
    }
}
