import ArgumentParser
import QuiesceCommandLine
import QuiesceServiceControl
import QuiesceWriter

/// `quiesce-postgres-writer`: the Quiesce writer of one PostgreSQL cluster.
@main
struct PostgresWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiesce-postgres-writer",
        abstract: "A Quiesce writer for one PostgreSQL cluster (one instance per cluster).",
        discussion: """
            It reads the cluster's directories from the server, keeps a connection for each \
            backup, skips the backup mode when the snapshot captures the whole cluster at one \
            instant (btrfs, freeze) and uses pg_backup_start/pg_backup_stop otherwise (which \
            needs WAL archiving). The role it connects as needs pg_backup_start, pg_backup_stop \
            and pg_checkpoint rights (docs/writers/postgresql.md).
            """
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: "The writer's name: its bus name is org.quiesce.Writer.<name>.")
    var name = "postgres"

    @Option(help: ArgumentHelp("How to reach the server (a libpq connection string).", valueName: "conninfo"))
    var connection = "host=/var/run/postgresql dbname=postgres"

    @Option(help: ArgumentHelp("The data directory, for Identify before the server is first reached.", valueName: "path"))
    var dataDirectory: String?

    @Option(help: ArgumentHelp("restore_command for a restored cluster, e.g. 'cp /backups/wal/%f %p'.", valueName: "command"))
    var restoreCommand: String?

    @Option(help: ArgumentHelp("The server's systemd unit, stopped before a restore over it and started after.", valueName: "unit"))
    var service: String?

    @Option(help: "Seconds pg_backup_start may take (it waits for a checkpoint).")
    var backupStartTimeout = 30

    @Option(help: "Seconds pg_backup_stop may wait for the WAL to be archived.")
    var backupStopTimeout = 120

    func validate() throws {
        if let dataDirectory, !dataDirectory.hasPrefix("/") { throw ValidationError("--data-directory must be an absolute path") }
        guard (1...3600).contains(backupStartTimeout), (1...3600).contains(backupStopTimeout) else {
            throw ValidationError("the backup timeouts must be 1 to 3600 seconds")
        }
    }

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "quiesce-postgres-writer")
        let writer = try PostgresWriter(
            name: name,
            settings: PostgresWriterSettings(
                connection: connection, dataDirectory: dataDirectory, restoreCommand: restoreCommand, service: service.map(SystemdUnit.init),
                backupStartTimeout: .seconds(backupStartTimeout), backupStopTimeout: .seconds(backupStopTimeout)
            ),
            logger: logger
        )
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
    }
}
