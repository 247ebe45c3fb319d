import Foundation

/// One connection to an SQLite database, held by a `sqlite3` process that runs SQL sent to its
/// standard input. Holding a transaction open in this connection holds every other writer of the
/// database, in any process. Not for concurrent use: one statement batch at a time.
actor SQLiteShell {
    /// An error SQLite reported.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let process = Process()
    private let input: FileHandle
    private var output: AsyncStream<Data>.Iterator
    private var buffer = Data()
    private var batches = 0

    /// Opens `database` with a busy timeout, so that writes wait for a held lock instead of failing.
    init(database: String, busyTimeout: Duration = .seconds(120)) throws {
        let stdin = Pipe()
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-batch", database]
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        let (stream, continuation) = AsyncStream<Data>.makeStream()
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
            } else {
                continuation.yield(data)
            }
        }
        try process.run()
        input = stdin.fileHandleForWriting
        output = stream.makeAsyncIterator()
        let milliseconds = busyTimeout.components.seconds * 1000
        input.write(Data(".timeout \(milliseconds)\n".utf8))
    }

    /// Runs `sql` (one or more statements) and returns the lines it printed.
    @discardableResult
    func execute(_ sql: String) async throws -> [String] {
        batches += 1
        let marker = Data("__quiesce_batch_\(batches)__\n".utf8)
        input.write(Data((sql + "\n.print __quiesce_batch_\(batches)__\n").utf8))
        var iterator = output
        defer { output = iterator }
        while buffer.range(of: marker) == nil {
            guard let chunk = await iterator.next(isolation: self) else { throw Failure(description: "sqlite3 exited") }
            buffer.append(chunk)
        }
        let range = buffer.range(of: marker)!
        let text = String(decoding: buffer[buffer.startIndex..<range.lowerBound], as: UTF8.self)
        buffer.removeSubrange(buffer.startIndex..<range.upperBound)
        let lines = text.split(separator: "\n").map(String.init)
        if let error = lines.first(where: { $0.hasPrefix("Parse error") || $0.hasPrefix("Runtime error") || $0.hasPrefix("Error") }) {
            throw Failure(description: error)
        }
        return lines
    }

    /// Ends the `sqlite3` process; a transaction still open is rolled back by SQLite.
    func close() async {
        try? input.close()
        // Its output ends when it exits.
        var iterator = output
        while await iterator.next(isolation: self) != nil {}
        output = iterator
    }
}
