import Quiesce
import QuiesceProtocol
import QuiesceBus

extension BusConnection {
    /// Calls the coordinator. While the call is outstanding, the coordinator is pinged every
    /// ``CoordinatorCall/pingInterval``; when two pings in a row go unanswered (quiesced is
    /// stopped or hung), the call is abandoned with a ``QuiesceError`` instead of waiting
    /// forever. A coordinator that is merely busy answers pings (GDBus answers them itself).
    func callCoordinator(
        path: String,
        interface: String,
        method: String,
        arguments: [BusValue] = [],
        timeout: Duration? = .seconds(300)
    ) async throws -> [BusValue] {
        try await withThrowingTaskGroup(of: [BusValue]?.self) { group in
            group.addTask {
                try await self.call(destination: BusNames.coordinator, path: path, interface: interface, method: method, arguments: arguments, timeout: timeout)
            }
            group.addTask {
                try await self.watchCoordinator(during: method)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let reply = result { return reply }
            }
            throw CancellationError()
        }
    }

    /// Returns only when cancelled; throws when the coordinator stops answering pings.
    private func watchCoordinator(during method: String) async throws {
        var unanswered = 0
        while true {
            if unanswered == 0 { try await Task.sleep(for: CoordinatorCall.pingInterval) }
            do {
                _ = try await call(
                    destination: BusNames.coordinator, path: BusNames.coordinatorPath, interface: "org.freedesktop.DBus.Peer", method: "Ping",
                    timeout: CoordinatorCall.pingTimeout
                )
                unanswered = 0
            } catch let error as BusError where error.isTimeout {
                // A ping that timed out; any other failure (the coordinator left) ends the call itself.
                unanswered += 1
                if unanswered >= 2 {
                    throw QuiesceError(
                        .timeout,
                        "quiesced stopped answering on the bus during \(method) (no reply to two pings in \(CoordinatorCall.pingTimeout) each): it is stopped or hung; writers it froze thaw on their own when their lease runs out"
                    )
                }
            }
        }
    }
}

/// How requesters notice a coordinator that stopped answering.
enum CoordinatorCall {
    /// The time between two pings.
    static let pingInterval: Duration = .seconds(3)
    /// How long a ping may take: GDBus answers it on its own thread, so only a stopped or hung
    /// process (or a machine far beyond busy) misses it.
    static let pingTimeout: Duration = .seconds(6)
}
