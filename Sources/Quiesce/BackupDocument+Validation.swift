/// Why a backup document cannot be trusted for a restore.
public struct DocumentError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the offending field.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

extension BackupDocument {
    /// Checks everything a restore relies on, treating the document as hostile: the format,
    /// the outcome, every volume (absolute, normalized, distinct, none inside another), every
    /// data path (relative, normalized: it cannot leave the backup), every writer and component
    /// (known names, files inside a volume of the document), and the sizes.
    public func validateForRestore() throws(DocumentError) {
        guard formatVersion == 1 else { throw DocumentError("format-version \(formatVersion) is not supported (only 1)") }
        guard outcome != .failed else { throw DocumentError("the document describes a backup that failed: it holds no data to restore") }
        guard let snapshotSet, !snapshotSet.volumes.isEmpty else { throw DocumentError("the document names no volume") }
        guard snapshotSet.volumes.count <= InputLimits.volumesPerSet else {
            throw DocumentError("the document names \(snapshotSet.volumes.count) volumes; at most \(InputLimits.volumesPerSet)")
        }
        let volumes = snapshotSet.volumes.map(\.volume)
        for volume in snapshotSet.volumes {
            guard PathRules.isAbsoluteNormalized(volume.volume) else {
                throw DocumentError("volume \(volume.volume.debugDescription) is not an absolute normalized path")
            }
            guard volume.dataPath.isEmpty || PathRules.isRelativeNormalized(volume.dataPath) else {
                throw DocumentError("the data path \(volume.dataPath.debugDescription) of volume \(volume.volume) leaves the backup (it must be relative, without '..')")
            }
            if let other = volumes.first(where: { $0 != volume.volume && PathRules.contains($0, volume.volume) }) {
                throw DocumentError("volume \(volume.volume) lies inside volume \(other)")
            }
        }
        guard Set(volumes).count == volumes.count else { throw DocumentError("a volume is named twice") }
        guard writers.count <= InputLimits.writersPerDocument else {
            throw DocumentError("the document names \(writers.count) writers; at most \(InputLimits.writersPerDocument)")
        }
        var names: Set<String> = []
        for writer in writers {
            let metadata = writer.metadata
            guard BusNames.isValidWriterName(metadata.name), names.insert(metadata.name).inserted else {
                throw DocumentError("writer name \(metadata.name.debugDescription) is invalid or named twice")
            }
            // A writer left out at Identify is recorded by name only, with no component.
            let leftOut = writer.status.state == .failedAtIdentify && writer.components.isEmpty
            if !leftOut { try metadata.validate() }
            for component in writer.components {
                guard let declared = metadata.component(component.fullPath) else {
                    throw DocumentError("writer \(metadata.name) has no component \(component.fullPath.debugDescription)")
                }
                for file in declared.files where !volumes.contains(where: { PathRules.contains($0, file.path) }) {
                    throw DocumentError("component \(metadata.name)/\(component.fullPath) has files in \(file.path), which is on no volume of the backup")
                }
            }
        }
    }
}

extension WriterMetadata {
    /// Checks what a writer declares: ids of 1 to 128 bytes, a freeze timeout above 0, at most ``InputLimits/componentsPerWriter``
    /// components and ``InputLimits/filesPerWriter`` file specifications, absolute normalized
    /// paths, patterns that are file-name globs, distinct component paths.
    public func validate() throws(DocumentError) {
        for (key, id) in [("class-id", classId), ("instance-id", instanceId)] where id.isEmpty || id.utf8.count > 128 {
            throw DocumentError("writer \(name) has \(key) \(id.debugDescription); it must be 1 to 128 bytes (a UUID by convention)")
        }
        guard freezeTimeoutMilliseconds > 0 else { throw DocumentError("writer \(name) has freeze-timeout-ms 0; it must be at least 1") }
        guard components.count <= InputLimits.componentsPerWriter else {
            throw DocumentError("writer \(name) declares \(components.count) components; at most \(InputLimits.componentsPerWriter)")
        }
        let files = components.reduce(0) { $0 + $1.files.count }
        guard files <= InputLimits.filesPerWriter else {
            throw DocumentError("writer \(name) declares \(files) file specifications; at most \(InputLimits.filesPerWriter)")
        }
        var paths: Set<String> = []
        for component in components {
            guard !component.name.isEmpty, component.fullPath.utf8.count <= 1024, paths.insert(component.fullPath).inserted else {
                throw DocumentError("writer \(name) declares a component with an empty, overlong or repeated path \(component.fullPath.debugDescription)")
            }
            for file in component.files {
                guard PathRules.isAbsoluteNormalized(file.path) else {
                    throw DocumentError("component \(name)/\(component.fullPath) names \(file.path.debugDescription), not an absolute normalized path")
                }
                guard !file.pattern.isEmpty, !file.pattern.contains("/"), file.pattern.utf8.count <= 255 else {
                    throw DocumentError("component \(name)/\(component.fullPath) has the pattern \(file.pattern.debugDescription), not a file-name glob")
                }
            }
        }
    }
}
