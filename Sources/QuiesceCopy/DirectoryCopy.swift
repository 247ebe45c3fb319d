import Foundation

/// Copies a directory tree with `cp -a --reflink=auto`: attributes are kept, and on btrfs or
/// XFS the copy shares blocks with the original until either changes.
public enum DirectoryCopy {
    /// Why a copy failed.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What `cp` printed.
        public var description: String
    }

    /// Copies the contents of `source` into `destination`, creating it.
    public static func copyContents(of source: String, to destination: String) async throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/cp")
        process.arguments = ["-a", "--reflink=auto", "--", source + "/.", destination]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        // Both ends of the pipe are closed here: a long-running daemon copies thousands of times.
        defer { try? errors.fileHandleForReading.close() }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                try? errors.fileHandleForWriting.close()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        guard status == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failure(description: "copying \(source) to \(destination) failed: \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
