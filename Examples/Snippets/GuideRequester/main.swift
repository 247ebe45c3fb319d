// snippet:begin docs/requester-guide.md
import QuiesceRequester

let client = try await QuiesceClient.connect(to: .system)
let job = BackupJob(
    volumes: ["/srv/shop"], destination: "/backups/2026-11-27",
    policies: ["shop": .required], retry: RetryPolicy(maxRetries: 3, delay: .seconds(10))
)
let document = try await job.run(with: client) { event in print(event) }  // steps, copy progress, decisions
// document.outcome: .succeeded, or .partial when an optional writer failed
// snippet:end

// snippet:begin docs/requester-guide.md
let session = try await client.createSession()                 // owned by this connection
let writers = try await session.gatherWriterMetadata()          // Identify to everyone
try await session.setWriterPolicy([("shop", nil, .required)])   // optional by default
try await session.addVolumes(["/srv/shop"])
try await session.prepareForBackup(type: .full)
let set = try await session.doSnapshotSet()                     // set.snapshots[volume] = where to read it
// … copy the data out of set.snapshots …
try await session.backupComplete(succeeded: true)
let backupDocument = try await session.backupDocument()         // save it beside the data
let finalStatus = try await session.close()                     // BackupShutdown; snapshots removed
// snippet:end

// snippet:begin docs/requester-guide.md
do {
    _ = try await session.doSnapshotSet()
} catch let error as QuiesceError where error.code == .busy {
    // another backup is taking its snapshot: wait and try again (BackupJob's retry does this)
} catch let error as QuiesceError where error.code == .writerFailed {
    print("a required writer failed: \(error.message)")
}
// snippet:end
