import Foundation
import Quiesce
import QuiesceBus
import QuiesceServiceBus
import QuiesceProtocol

/// Sends events to writers: one call with its timeout, or many in parallel under the
/// coordinator's bound on calls in flight. Never throws: a writer that fails to answer is
/// reported `not-responding`.
struct WriterCaller: Sendable {
    let connection: ServingConnection
    let timeouts: PhaseTimeouts
    let limiter: AsyncSemaphore

    /// The writer interface of the writer connection `owner`. Every reply passes `check` first.
    private func writer(_ owner: String, check: @escaping @Sendable ([BusValue]) throws -> Void = { _ in }) -> Writer1Proxy {
        Writer1Proxy { [connection, limiter] method, arguments, timeout in
            let reply = try await limiter.withPermit {
                await Result {
                    try await connection.call(destination: owner, path: BusNames.writerPath, interface: Writer1.name, method: method, arguments: arguments, timeout: timeout)
                }
            }.get()
            try check(reply)
            return reply
        }
    }

    /// Asks a writer for its metadata: a reply over ``InputLimits/identifyReplyBytes`` is
    /// refused before it is decoded, and the metadata must pass ``WriterMetadata/validate()``.
    func identify(owner: String) async throws -> WriterMetadata {
        let proxy = writer(owner) { reply in
            let bytes = reply.first?.stringValue?.utf8.count ?? 0
            guard bytes <= InputLimits.identifyReplyBytes else {
                throw QuiesceError(.tooLarge, "the Identify reply is \(bytes) bytes; at most \(InputLimits.identifyReplyBytes)")
            }
        }
        let metadata = try await proxy.identify(timeout: timeouts[.identify])
        do {
            try metadata.validate()
        } catch {
            throw QuiesceError(.tooLarge, error.description, cause: error)
        }
        return metadata
    }

    /// Sends `event` to one writer and returns what it answered (`answered`), or, for a writer
    /// that does not answer, `not-responding`, and for one whose reply breaks the contract,
    /// `non-retryable`.
    func send(_ event: WriterEvent, to owner: String, session: String, options: EventOptions) async -> (reply: EventReply, answered: Bool) {
        let clock = ContinuousClock()
        let start = clock.now
        let timeout = timeouts[event]
        let outcome = await Result { try EventReply(try await writer(owner).event(Writer1.EventMethod(event), session: session, options: options, timeout: timeout)) }
        let microseconds = (clock.now - start).wholeMicroseconds
        let failed = { (failure: FailureCode, message: String) in
            EventReply(result: EventResult(state: event.stateOnFailure, failure: failure, message: message, durationMicroseconds: microseconds))
        }
        switch outcome {
        case .success(var reply):
            reply.result.durationMicroseconds = microseconds
            return (reply, true)
        case .failure(let error):
            let error = QuiesceError(error)
            switch error.code {
            case .timeout: return (failed(.notResponding, "no reply to \(event.methodName) within \(timeout)"), false)
            case .peerGone: return (failed(.notResponding, "the writer left the bus during \(event.methodName)"), false)
            case .invalidArgument, .invalidReply: return (failed(.nonRetryable, "the writer's reply to \(event.methodName) breaks the contract: \(error.message)"), false)
            default: return (failed(.notResponding, "\(event.methodName) failed: \(error)"), false)
            }
        }
    }

    /// A writer's properties, read once when it appears (ListWriters follows them from then on),
    /// or `nil` if it does not answer within two seconds.
    func properties(owner: String) async -> [String: BusValue]? {
        await limiter.withPermit {
            try? await connection.call(
                destination: owner, path: BusNames.writerPath, interface: "org.freedesktop.DBus.Properties",
                method: "GetAll", arguments: [.string(Writer1.name)], timeout: .seconds(2)
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
