import Foundation
import Quiesce
import QuiesceBus
import QuiesceProtocol

/// Sends events to writers: one call with its timeout, or many in parallel under the
/// coordinator's bound on calls in flight. Never throws: a writer that fails to answer is
/// reported `not-responding`.
struct WriterCaller: Sendable {
    let connection: BusConnection
    let timeouts: PhaseTimeouts
    let limiter: CallLimiter

    /// Asks a writer for its metadata.
    func identify(owner: String) async throws -> WriterMetadata {
        let reply = try await limiter.withPermit {
            await Result {
                try await connection.call(
                    destination: owner, path: BusNames.writerPath, interface: BusNames.writerInterface,
                    method: WriterEvent.identify.methodName, timeout: timeouts[.identify]
                )
            }
        }.get()
        guard let text = reply.first?.stringValue else {
            throw BusError(name: BusError.invalidArgs, message: "Identify returned no metadata")
        }
        guard text.utf8.count <= InputLimits.identifyReplyBytes else {
            throw BusError(name: QuiesceErrorName.tooLarge.rawValue, message: "the Identify reply is \(text.utf8.count) bytes; at most \(InputLimits.identifyReplyBytes)")
        }
        let metadata: WriterMetadata
        do {
            metadata = try JSONCoding.decode(WriterMetadata.self, from: text)
        } catch {
            throw BusError(name: QuiesceErrorName.invalidArgument.rawValue, message: "the Identify reply is not a writer metadata document: \(JSONCoding.describe(error))")
        }
        do {
            try metadata.validate()
        } catch {
            throw BusError(name: QuiesceErrorName.tooLarge.rawValue, message: error.description)
        }
        return metadata
    }

    /// Sends `event` to one writer and returns what it answered, or a `not-responding` reply.
    func send(_ event: WriterEvent, to owner: String, session: String, options: EventOptions) async -> EventReply {
        let clock = ContinuousClock()
        let start = clock.now
        let timeout = timeouts[event]
        let outcome = await limiter.withPermit {
            await Result {
                try await connection.call(
                    destination: owner, path: BusNames.writerPath, interface: BusNames.writerInterface,
                    method: event.methodName, arguments: [.string(session), options.busValue], timeout: timeout
                )
            }
        }
        let elapsed = clock.now - start
        let microseconds = elapsed.wholeMicroseconds
        let notResponding = { (message: String) in
            EventReply(result: EventResult(state: event.stateOnFailure, failure: .notResponding, message: message, durationMicroseconds: microseconds))
        }
        switch outcome {
        case .success(let reply):
            guard var decoded = reply.first.flatMap(EventReply.init(busValue:)) else {
                return notResponding("the writer's reply to \(event.methodName) was malformed")
            }
            decoded.result.durationMicroseconds = microseconds
            return decoded
        case .failure(let error as BusError) where error.isTimeout:
            return notResponding("no reply to \(event.methodName) within \(timeout)")
        case .failure(let error as BusError) where error.isPeerGone:
            return notResponding("the writer left the bus during \(event.methodName)")
        case .failure(let error):
            return notResponding("\(event.methodName) failed: \(error)")
        }
    }

    /// A writer's properties, read once when it appears (ListWriters follows them from then on),
    /// or `nil` if it does not answer within two seconds.
    func properties(owner: String) async -> [String: BusValue]? {
        await limiter.withPermit {
            try? await connection.call(
                destination: owner, path: BusNames.writerPath, interface: "org.freedesktop.DBus.Properties",
                method: "GetAll", arguments: [.string(BusNames.writerInterface)], timeout: .seconds(2)
            ).first?.stringKeyedDictionary
        }
    }

    /// Whether a writer still answers on the bus (a Peer.Ping within two seconds).
    func ping(owner: String) async -> Bool {
        await limiter.withPermit {
            (try? await connection.call(destination: owner, path: BusNames.writerPath, interface: "org.freedesktop.DBus.Peer", method: "Ping", timeout: .seconds(2))) != nil
        }
    }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
