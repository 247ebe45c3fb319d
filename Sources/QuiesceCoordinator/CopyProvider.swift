import Foundation
import Quiesce
import QuiesceCopy

/// The embedded default provider: copies each volume directory into the snapshot set,
/// reflinking where the filesystem can (btrfs, XFS) and copying bytes elsewhere.
///
/// It works on any filesystem, but writes stay held for as long as the copy takes: use it
/// for small volumes, or a filesystem that reflinks.
public struct CopyProvider: SnapshotProvider {
    /// `copy`.
    public let name = "copy"
    /// The directory below which snapshot sets are made, one directory per set.
    public let root: String

    /// Creates a provider that puts snapshot sets below `root`.
    public init(root: String) {
        self.root = root
    }

    public func createSnapshots(of volumes: [String], setId: String) async throws -> [String: String] {
        let setDirectory = root + "/" + setId
        var snapshots: [String: String] = [:]
        do {
            for (index, volume) in volumes.enumerated() {
                let target = setDirectory + "/\(index)-" + (volume == "/" ? "root" : URL(fileURLWithPath: volume).lastPathComponent)
                try await DirectoryCopy.copyContents(of: volume, to: target)
                snapshots[volume] = target
            }
        } catch {
            try? await deleteSnapshots(setId: setId)
            throw error
        }
        return snapshots
    }

    public func deleteSnapshots(setId: String) async throws {
        let path = root + "/" + setId
        if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
    }
}
