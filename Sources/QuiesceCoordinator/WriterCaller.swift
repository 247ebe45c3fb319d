import Foundation
import Quiesce
import QuiesceBus

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
        return try JSONCoding.decode(WriterMetadata.self, from: text)
    }

    /// Sends `event` to one writer and returns what it answered, or a `not-responding` result.
    func send(_ event: WriterEvent, to owner: String, session: String, options: [String: BusValue]) async -> EventResult {
        let clock = ContinuousClock()
        let start = clock.now
        let timeout = timeouts[event]
        let outcome = await limiter.withPermit {
            await Result {
                try await connection.call(
                    destination: owner, path: BusNames.writerPath, interface: BusNames.writerInterface,
                    method: event.methodName, arguments: [.string(session), .vardict(options)], timeout: timeout
                )
            }
        }
        let elapsed = clock.now - start
        let microseconds = UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
        switch outcome {
        case .success(let reply):
            guard let result = reply.first?.stringKeyedDictionary,
                let state = result[EventResult.Key.state]?.stringValue.flatMap(WriterState.init(rawValue:))
            else {
                return EventResult(state: event.stateOnFailure, failure: .notResponding, message: "the writer's reply to \(event.methodName) was malformed", durationMicroseconds: microseconds)
            }
            let failureText = result[EventResult.Key.failure]?.stringValue ?? ""
            return EventResult(
                state: state,
                failure: failureText.isEmpty ? nil : (FailureCode(rawValue: failureText) ?? .nonRetryable),
                message: result[EventResult.Key.message]?.stringValue ?? "",
                durationMicroseconds: microseconds
            )
        case .failure(let error as BusError):
            let message: String
            if error.isTimeout {
                message = "no reply to \(event.methodName) within \(timeout)"
            } else if error.isPeerGone {
                message = "the writer left the bus during \(event.methodName)"
            } else {
                message = "\(event.methodName) failed: \(error)"
            }
            return EventResult(state: event.stateOnFailure, failure: .notResponding, message: message, durationMicroseconds: microseconds)
        case .failure(let error):
            return EventResult(state: event.stateOnFailure, failure: .notResponding, message: "\(event.methodName) failed: \(error)", durationMicroseconds: microseconds)
        }
    }

    /// Sends `event` to many writers in parallel; returns each writer's result by name.
    func fanOut(
        _ event: WriterEvent,
        to writers: [(name: String, owner: String, options: [String: BusValue])],
        session: String
    ) async -> [String: EventResult] {
        await withTaskGroup(of: (String, EventResult).self) { group in
            for writer in writers {
                group.addTask { (writer.name, await send(event, to: writer.owner, session: session, options: writer.options)) }
            }
            var results: [String: EventResult] = [:]
            for await (name, result) in group { results[name] = result }
            return results
        }
    }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
