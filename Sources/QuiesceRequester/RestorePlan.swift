import Quiesce
import QuiesceProtocol
import QuiesceFiles

/// What a restore will do, worked out before anything is touched: the document (checked as
/// hostile input), and for each volume where it goes and which entries go back.
public struct RestorePlan: Sendable {
    /// One volume of the backup and what happens to it.
    public struct Volume: Sendable {
        /// The volume as it was backed up.
        public var volume: String
        /// Where it is restored: the volume itself, or below the alternate location.
        public var target: String
        /// The backup's copy, relative to the backup folder.
        public var dataPath: String
        /// `nil`: the whole volume is replaced. Otherwise the entries (relative to the volume)
        /// of the selected components that go back.
        public var entries: [RelativePath]?
        /// With `entries`: live entries of the selected components that the backup does not
        /// hold, taken away so that each component is as it was.
        public var removing: [RelativePath]
    }

    /// The folder the backup is in.
    public var source: String
    /// The document, narrowed to the selected components.
    public var document: BackupDocument
    /// The volumes restored.
    public var volumes: [Volume]
    /// The alternate location, when the backup is not restored over the live volumes.
    public var alternateLocation: String?

    /// Whether the restore replaces live data (it is not going to an alternate location).
    public var replacesLiveData: Bool { alternateLocation == nil }

    /// Reads and checks `<source>/backup.json` and works out the plan. `components` are
    /// `(writer, component full path)` pairs; empty restores every volume whole.
    public init(source: String, components: [(writer: String, component: String)] = [], alternateLocation: String? = nil) throws {
        self.source = source
        self.alternateLocation = alternateLocation
        let folder = try DirectoryHandle.openFollowing(source)
        let bytes: [UInt8]
        do {
            bytes = try folder.readFile(FileName(BackupJob.documentName)!, limit: InputLimits.restoreDocumentBytes)
        } catch let error as FileError where error.code == 0 {
            throw QuiesceError(.failed, "cannot use \(source)/\(BackupJob.documentName): \(error.explanation) (org.quiesce.Error.TooLarge)")
        }
        var document: BackupDocument
        do {
            document = try JSONCoding.decode(BackupDocument.self, from: String(decoding: bytes, as: UTF8.self))
            try document.validateForRestore()
        } catch let error as DocumentError {
            throw QuiesceError(.failed, "\(source)/\(BackupJob.documentName) cannot be restored: \(error)")
        } catch {
            throw QuiesceError(.failed, "\(source)/\(BackupJob.documentName) is not a backup document: \(error)")
        }
        let snapshotVolumes = document.snapshotSet!.volumes
        if let empty = snapshotVolumes.first(where: { $0.dataPath.isEmpty }) {
            throw QuiesceError(.failed, "\(source)/\(BackupJob.documentName) holds no data for volume \(empty.volume): the backup was not completed")
        }
        if let alternateLocation {
            guard PathRules.isAbsoluteNormalized(alternateLocation), alternateLocation != "/" else {
                throw QuiesceError(.failed, "the alternate location \(alternateLocation) must be an absolute directory other than /")
            }
            if let volume = snapshotVolumes.first(where: { PathRules.contains($0.volume, alternateLocation) || PathRules.contains(alternateLocation, $0.volume) }) {
                throw QuiesceError(.failed, "the alternate location \(alternateLocation) overlaps the volume \(volume.volume); choose a directory outside every volume")
            }
        }

        var selected: [String: Set<String>] = [:]
        for (writer, component) in components {
            guard let record = document.writers.first(where: { $0.metadata.name == writer }) else {
                throw QuiesceError(.failed, "the backup has no writer \(writer); it has \(document.writers.map(\.metadata.name).joined(separator: ", "))")
            }
            guard record.components.contains(where: { $0.fullPath == component }) else {
                throw QuiesceError(.failed, "writer \(writer) has no component \(component) in the backup; it has \(record.components.map(\.fullPath).joined(separator: ", "))")
            }
            selected[writer, default: []].insert(component)
        }
        if !selected.isEmpty {
            document.writers = document.writers.compactMap { record in
                guard let chosen = selected[record.metadata.name] else { return nil }
                var record = record
                record.components = record.components.filter { chosen.contains($0.fullPath) }
                return record
            }
        }
        self.document = document

        volumes = []
        for volume in snapshotVolumes {
            do {
                _ = try folder.openDirectory(RelativePath(volume.dataPath)!)
            } catch {
                throw QuiesceError(.failed, "the data of volume \(volume.volume) cannot be read from the backup: \(error)")
            }
            let target = alternateLocation.map { $0 + volume.volume } ?? volume.volume
            var plan = Volume(volume: volume.volume, target: target, dataPath: volume.dataPath, entries: nil, removing: [])
            if !selected.isEmpty {
                let specs = document.writers.flatMap { record in
                    record.components.compactMap { record.metadata.component($0.fullPath) }.flatMap(\.files)
                }.filter { file in
                    // The innermost volume holding the file set.
                    snapshotVolumes.map(\.volume).filter { PathRules.contains($0, file.path) }.max { $0.utf8.count < $1.utf8.count } == volume.volume
                }
                guard !specs.isEmpty else { continue }
                let backupData = try folder.openDirectory(RelativePath(volume.dataPath)!)
                let live = try? DirectoryHandle.open(absolute: target)
                let incoming = try Self.matches(specs, in: backupData, volume: volume.volume)
                let existing = try live.map { try Self.matches(specs, in: $0, volume: volume.volume) } ?? []
                plan.entries = incoming.sorted()
                plan.removing = existing.subtracting(incoming).sorted()
            }
            volumes.append(plan)
        }
    }

    /// The entries (relative to the volume) that the file specifications select below `root`.
    private static func matches(_ specs: [FileSpec], in root: DirectoryHandle, volume: String) throws -> Set<RelativePath> {
        var found: Set<RelativePath> = []
        for spec in specs {
            let relative = PathRules.relative(spec.path, to: volume)
            let start = relative.isEmpty ? [] : RelativePath(relative)!.elements
            guard let directory = start.isEmpty ? root : try? root.openDirectory(RelativePath(start)) else { continue }
            try collect(NamePattern(spec.pattern), recursive: spec.recursive, in: directory, prefix: start, into: &found)
        }
        return found
    }

    private static func collect(_ pattern: NamePattern, recursive: Bool, in directory: DirectoryHandle, prefix: [FileName], into found: inout Set<RelativePath>) throws {
        for name in try directory.entries() where !RestoreTransaction.isWorkDirectory(name) {
            let isDirectory = try directory.status(name)?.kind == .directory
            if isDirectory {
                if recursive { try collect(pattern, recursive: true, in: try directory.openDirectory(name), prefix: prefix + [name], into: &found) }
            } else if pattern.matches(name) {
                found.insert(RelativePath(prefix + [name]))
            }
        }
    }

    /// What the restore would change, volume by volume, without changing anything.
    public func changes() async throws -> [(volume: Volume, changes: [TreeChange])] {
        let folder = try DirectoryHandle.openFollowing(source)
        var result: [(Volume, [TreeChange])] = []
        for volume in volumes {
            let backupData = try folder.openDirectory(RelativePath(volume.dataPath)!)
            let live = try? DirectoryHandle.open(absolute: volume.target)
            result.append((volume, try await TreeDiff.changes(from: backupData, over: live, entries: volume.entries, removing: volume.removing)))
        }
        return result
    }
}
