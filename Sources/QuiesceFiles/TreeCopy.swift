import CLinuxFiles
import Glibc

/// How far a copy has come.
public struct CopyProgress: Sendable, Hashable {
    /// Entries (files, directories, links) copied so far.
    public var entries: Int
    /// Bytes of file data copied (or shared by reflink) so far.
    public var bytes: Int64
}

/// What a copy did.
public struct CopySummary: Sendable, Hashable {
    /// Entries copied.
    public var entries = 0
    /// Bytes of file data.
    public var bytes: Int64 = 0
    /// Of those, the bytes shared with the source by reflink instead of copied.
    public var clonedBytes: Int64 = 0
    /// Directories that are mount points of other filesystems: created empty, not descended into.
    public var skippedMountPoints: [String] = []
}

/// Copies directory trees as `cp -a --one-file-system --reflink=auto` would (data, owners,
/// modes, extended attributes, times, hard links, symlinks as symlinks, special files), but
/// through descriptors: nothing is ever followed on either side, every entry is created new
/// (`O_EXCL`) in a destination the caller made, and the work runs on its own thread with
/// progress and cancellation.
public struct TreeCopy: Sendable {
    /// Whether directories of other filesystems are left out (created empty), as snapshots of
    /// one volume do.
    public var oneFileSystem: Bool
    /// The deepest directory nesting copied; deeper trees are refused.
    public var maxDepth: Int
    /// The shortest time between two progress reports.
    public var progressInterval: Duration
    /// Whether every file's data must be shared with the source (reflink) instead of copied: a
    /// file the filesystem refuses to share fails the copy.
    public var requiresSharing: Bool
    /// Names left out at the top of the source (a snapshot directory inside the volume).
    public var excluding: Set<FileName>

    /// Creates a copier.
    public init(
        oneFileSystem: Bool = true, maxDepth: Int = 256, progressInterval: Duration = .seconds(1),
        requiresSharing: Bool = false, excluding: Set<FileName> = []
    ) {
        self.oneFileSystem = oneFileSystem
        self.maxDepth = maxDepth
        self.progressInterval = progressInterval
        self.requiresSharing = requiresSharing
        self.excluding = excluding
    }

    /// Copies everything in `source` into the empty directory `destination`, then gives
    /// `destination` the owner, mode and times of `source`.
    public func copyContents(
        of source: DirectoryHandle,
        into destination: DirectoryHandle,
        progress: (@Sendable (CopyProgress) -> Void)? = nil
    ) async throws -> CopySummary {
        try await copy(from: source, to: destination, progress: progress) { run in
            try run.copyContents(of: source, into: destination, relative: [], depth: 0)
            try Attributes.copyExtended(from: source.descriptor, to: destination.descriptor, path: destination.path)
            try destination.applyAttributes(of: try source.status())
        }
    }

    /// Copies the entries `paths` (files or whole directories) of `source` to the same
    /// relative paths in `destination`, creating the directories between with the attributes
    /// they have in `source`. Entries that do not exist in `source` are skipped.
    public func copyEntries(
        _ paths: [RelativePath],
        of source: DirectoryHandle,
        into destination: DirectoryHandle,
        progress: (@Sendable (CopyProgress) -> Void)? = nil
    ) async throws -> CopySummary {
        try await copy(from: source, to: destination, progress: progress) { run in
            for path in paths.sorted() {
                let sourceParent = path.parentElements.isEmpty ? source : try source.openDirectory(RelativePath(path.parentElements))
                guard let status = try sourceParent.status(path.name) else { continue }
                let destinationParent = try run.makeParents(path.parentElements, like: source, in: destination)
                try run.copyEntry(path.name, status: status, from: sourceParent, to: destinationParent, relative: path.parentElements, depth: path.elements.count)
            }
        }
    }
}

extension TreeCopy {
    /// Runs `body` with a new copy on a thread of its own; returns what it copied.
    private func copy(
        from source: DirectoryHandle,
        to destination: DirectoryHandle,
        progress: (@Sendable (CopyProgress) -> Void)?,
        _ body: @escaping @Sendable (CopyRun) throws -> Void
    ) async throws -> CopySummary {
        try await BlockingWork.run { flag in
            let run = try CopyRun(options: self, source: source, destination: destination, flag: flag, progress: progress)
            try body(run)
            return run.summary
        }
    }
}

/// One copy in progress, on its own thread.
private final class CopyRun {
    let options: TreeCopy
    let destinationRoot: DirectoryHandle
    let rootDevice: UInt64
    let flag: CancellationFlag
    let progress: (@Sendable (CopyProgress) -> Void)?
    var summary = CopySummary()
    private var lastReport = ContinuousClock.now
    /// Files with more than one link already copied, by (device, inode): their path below the
    /// destination, to link the next ones to.
    private var links: [[UInt64]: [UInt8]] = [:]

    init(options: TreeCopy, source: DirectoryHandle, destination: DirectoryHandle, flag: CancellationFlag, progress: (@Sendable (CopyProgress) -> Void)?) throws {
        self.options = options
        self.destinationRoot = destination
        self.rootDevice = try source.status().device
        self.flag = flag
        self.progress = progress
    }

    func copyContents(of source: DirectoryHandle, into destination: DirectoryHandle, relative: [FileName], depth: Int) throws {
        for name in try source.entries() where !(relative.isEmpty && options.excluding.contains(name)) {
            try flag.check()
            guard let status = try source.status(name) else { continue }  // removed since listed
            try copyEntry(name, status: status, from: source, to: destination, relative: relative, depth: depth + 1)
        }
    }

    func copyEntry(_ name: FileName, status: FileStatus, from source: DirectoryHandle, to destination: DirectoryHandle, relative: [FileName], depth: Int) throws {
        let target = destination.pathOf(name)
        switch status.kind {
        case .directory:
            guard depth <= options.maxDepth else {
                throw FileError("copy", source.pathOf(name), reason: "it is nested deeper than \(options.maxDepth) directories")
            }
            try destination.makeDirectory(name)
            let copy = try destination.openDirectory(name)
            if options.oneFileSystem && status.device != rootDevice {
                summary.skippedMountPoints.append(source.pathOf(name))
            } else {
                let original = try source.openDirectory(name)
                try copyContents(of: original, into: copy, relative: relative + [name], depth: depth)
                try Attributes.copyExtended(from: original.descriptor, to: copy.descriptor, path: target)
            }
            try copy.applyAttributes(of: status)
        case .regular:
            let key = [status.device, status.inode]
            if status.links > 1, let first = links[key] {
                let linked = (first + [0]).withUnsafeBufferPointer { firstPath in
                    firstPath.withMemoryRebound(to: CChar.self) { pointer in
                        name.withCString { linkat(destinationRoot.descriptor, pointer.baseAddress!, destination.descriptor, $0, 0) }
                    }
                }
                guard linked == 0 else { throw FileError("link", target) }
            } else {
                try copyFile(name, from: source, to: destination)
                if status.links > 1 { links[key] = RelativePath(relative + [name]).bytes }
            }
        case .symlink:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = name.withCString { readlinkat(source.descriptor, $0, &buffer, buffer.count - 1) }
            guard length >= 0 else { throw FileError("read the symlink", source.pathOf(name)) }
            buffer[length] = 0
            guard name.withCString({ symlinkat(buffer, destination.descriptor, $0) }) == 0 else { throw FileError("create", target) }
            try Attributes.apply(status, toEntry: name, in: destination.descriptor, path: target)
        case .other:
            guard name.withCString({ mknodat(destination.descriptor, $0, status.mode, dev_t(status.specialDevice)) }) == 0 else {
                throw FileError("create", target)
            }
            try Attributes.apply(status, toEntry: name, in: destination.descriptor, path: target)
        }
        summary.entries += 1
        reportIfDue()
    }

    /// The directory for `elements` below the destination, made where missing with the
    /// attributes the same directory has below `source`.
    func makeParents(_ elements: [FileName], like source: DirectoryHandle, in destination: DirectoryHandle) throws -> DirectoryHandle {
        var sourceDirectory = source
        var directory = destination
        for element in elements {
            let original = try sourceDirectory.openDirectory(element)
            if try directory.status(element) == nil {
                try directory.makeDirectory(element)
                let made = try directory.openDirectory(element)
                try made.applyAttributes(of: try original.status())
            }
            directory = try directory.openDirectory(element)
            sourceDirectory = original
        }
        return directory
    }

    private func copyFile(_ name: FileName, from source: DirectoryHandle, to destination: DirectoryHandle) throws {
        let input = try source.openFile(name, flags: O_RDONLY | O_NOCTTY)
        defer { close(input) }
        var raw = stat()
        guard fstat(input, &raw) == 0 else { throw FileError("inspect", source.pathOf(name)) }
        let status = FileStatus(raw)
        guard status.kind == .regular else { throw FileError("copy", source.pathOf(name), reason: "it changed while it was copied") }
        let output = try destination.openFile(name, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { close(output) }
        let path = destination.pathOf(name)
        if status.size > 0, quiesce_clone_file(output, input) == 0 {
            summary.clonedBytes += status.size
            summary.bytes += status.size
        } else if options.requiresSharing, status.size > 0 {
            throw FileError("share the data of", source.pathOf(name), code: errno)
        } else {
            try copyData(from: input, to: output, size: status.size, path: path)
            guard ftruncate(output, off_t(status.size)) == 0 else { throw FileError("write", path) }
        }
        try Attributes.copyExtended(from: input, to: output, path: path)
        try Attributes.apply(status, to: output, path: path)
    }

    /// Copies the data regions of a file (holes stay holes), in the kernel where it can.
    private func copyData(from input: Int32, to output: Int32, size: Int64, path: String) throws {
        var offset: Int64 = 0
        while offset < size {
            let data = quiesce_seek_data_or_hole(input, offset, 1)
            if data < 0 {
                if errno == ENXIO { return }  // only a hole is left
                try copyRange(from: input, to: output, start: offset, end: size, path: path)  // no SEEK_DATA here
                return
            }
            let hole = min(max(quiesce_seek_data_or_hole(input, data, 0), data), size)
            try copyRange(from: input, to: output, start: data, end: hole == data ? size : hole, path: path)
            offset = hole == data ? size : hole
        }
    }

    private func copyRange(from input: Int32, to output: Int32, start: Int64, end: Int64, path: String) throws {
        var inOffset = start
        var outOffset = start
        var kernelCopy = true
        while inOffset < end {
            try flag.check()
            let chunk = Int(min(end - inOffset, 64 << 20))
            var copied = -1
            if kernelCopy {
                copied = quiesce_copy_file_range(input, &inOffset, output, &outOffset, chunk)
                if copied < 0, [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP].contains(errno) { kernelCopy = false }
                if copied < 0, kernelCopy { throw FileError("copy data to", path) }
            }
            if !kernelCopy {
                copied = try copyByReading(from: input, to: output, offset: inOffset, count: min(chunk, 1 << 20), path: path)
                inOffset += Int64(copied)
                outOffset = inOffset
            }
            if copied == 0 { return }  // the file shrank while it was copied
            summary.bytes += Int64(max(copied, 0))
            reportIfDue()
        }
    }

    private func copyByReading(from input: Int32, to output: Int32, offset: Int64, count: Int, path: String) throws -> Int {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = pread(input, &buffer, count, off_t(offset))
        guard got >= 0 else { throw FileError("read", path) }
        var written = 0
        while written < got {
            let result = buffer.withUnsafeBytes { pwrite(output, $0.baseAddress! + written, got - written, off_t(offset) + off_t(written)) }
            guard result > 0 else { throw FileError("write", path) }
            written += result
        }
        return got
    }

    private func reportIfDue() {
        guard let progress, ContinuousClock.now - lastReport >= options.progressInterval else { return }
        lastReport = .now
        progress(CopyProgress(entries: summary.entries, bytes: summary.bytes))
    }
}
