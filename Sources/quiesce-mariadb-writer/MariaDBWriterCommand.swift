import ArgumentParser
import Foundation
import QuiesceCommandLine
import QuiesceServiceControl
import QuiesceWriter

/// `quiesce-mariadb-writer`: the Quiesce writer of one MariaDB server.
@main
struct MariaDBWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiesce-mariadb-writer",
        abstract: "A Quiesce writer for one MariaDB server (one instance per server).",
        discussion: """
            It blocks commits (BACKUP STAGE BLOCK_COMMIT, or FLUSH TABLES WITH READ LOCK) on a \
            connection it holds from Freeze to Thaw, records the binary log position, and vetoes \
            a snapshot that is not one instant (a copy is not consistent for InnoDB). The user it \
            connects as needs RELOAD and BACKUP_ADMIN (docs/writers/mariadb.md).
            """
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: "The writer's name: its bus name is org.quiesce.Writer.<name>.")
    var name = "mariadb"

    @Option(help: ArgumentHelp("The server's Unix socket.", valueName: "path"))
    var socket = "/run/mysqld/mysqld.sock"

    @Option(name: .customLong("mariadb-user"), help: "The MariaDB user to connect as (unix_socket authentication by default).")
    var user = "root"

    @Option(help: ArgumentHelp("A file holding the user's password (none: unix_socket authentication).", valueName: "path"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("The data directory, for Identify before the server is first reached.", valueName: "path"))
    var dataDirectory: String?

    @Option(help: ArgumentHelp("The server's systemd unit, stopped before a restore over it and started after.", valueName: "unit"))
    var service: String?

    @Option(help: "Seconds a backup lock may be waited for (lock_wait_timeout).")
    var lockTimeout = 10

    func validate() throws {
        if let dataDirectory, !dataDirectory.hasPrefix("/") { throw ValidationError("--data-directory must be an absolute path") }
        guard (1...3600).contains(lockTimeout) else { throw ValidationError("--lock-timeout must be 1 to 3600 seconds") }
    }

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "quiesce-mariadb-writer")
        let password = try passwordFile.map { try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .newlines) }
        let writer = try MariaDBWriter(
            name: name,
            settings: MariaDBWriterSettings(
                socket: socket, user: user, password: password, dataDirectory: dataDirectory, service: service.map(SystemdUnit.init),
                lockTimeout: .seconds(lockTimeout)
            ),
            logger: logger
        )
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
    }
}
