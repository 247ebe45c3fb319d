#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Subprocess
import SystemPackage

/// Copies a directory tree with `cp -a --reflink=auto`: attributes are kept, and on btrfs or
/// XFS the copy shares blocks with the original until either changes.
public enum DirectoryCopy {
    /// Why a copy failed.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What `cp` printed.
        public var description: String
    }

    /// Copies the contents of `source` into `destination`, creating it.
    ///
    /// `cp` runs through swift-subprocess: Foundation's `Process` leaked a few hundred bytes per
    /// launch, which a coordinator copying thousands of times would notice (heaptrack showed it).
    public static func copyContents(of source: String, to destination: String) async throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let result = try await run(
            .path(FilePath("/bin/cp")),
            arguments: ["-a", "--reflink=auto", "--", source + "/.", destination],
            output: .discarded,
            error: .string(limit: 64 * 1024)
        )
        guard result.terminationStatus.isSuccess else {
            let text = result.standardError.split(whereSeparator: \.isNewline).joined(separator: "; ")
            throw Failure(description: "copying \(source) to \(destination) failed: \(text)")
        }
    }
}
