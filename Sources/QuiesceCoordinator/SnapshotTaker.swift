import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceFiles

/// Chooses a provider for each volume (as VSS picks one per volume), takes a set's snapshots
/// within the write-hold limit, and deletes sets: at Close (unless kept), on failure, those a
/// killed quiesced left behind (from the ledger), and kept sets that expired or were deleted.
struct SnapshotTaker: Sendable {
    /// The providers, by name.
    let providers: [String: any SnapshotProvider]
    let ledger: SnapshotLedger
    /// The sets kept after their sessions.
    let kept: KeptSnapshotSets
    /// The longest the provider step may keep writers frozen.
    let writeHoldLimit: Duration

    /// The order providers are tried in for a volume when the requester names none.
    static let preference = ["btrfs", "reflink", "freeze", "command", "copy"]

    /// The volumes one provider takes.
    struct Assignment: Sendable {
        var provider: any SnapshotProvider
        var volumes: [VolumeInfo]
    }

    /// Which provider takes each volume: the one named for all of them, or per volume the first
    /// of ``preference`` that can. Throws a message naming, for a volume nobody can take, why
    /// each provider cannot.
    func assign(_ volumes: [VolumeInfo], named: String?) async throws(QuiesceError) -> [Assignment] {
        var assignments: [Assignment] = []
        func add(_ volume: VolumeInfo, to provider: any SnapshotProvider) {
            if let index = assignments.firstIndex(where: { $0.provider.name == provider.name }) {
                assignments[index].volumes.append(volume)
            } else {
                assignments.append(Assignment(provider: provider, volumes: [volume]))
            }
        }
        if let named {
            guard let provider = providers[named] else {
                throw QuiesceError(.invalidArgument, "no provider \(named); known: \(providers.keys.sorted().joined(separator: ", "))")
            }
            if let reason = provider.unavailableReason { throw QuiesceError(.invalidArgument, "provider \(named) cannot serve on this machine: \(reason)") }
            for volume in volumes {
                if let reason = await provider.refusal(for: volume, requested: true) {
                    throw QuiesceError(.invalidArgument, "provider \(named) cannot snapshot \(volume.path): \(reason)")
                }
                add(volume, to: provider)
            }
            return assignments
        }
        for volume in volumes {
            var reasons: [String] = []
            var chosen: (any SnapshotProvider)?
            for name in Self.preference {
                guard let provider = providers[name] else { continue }
                if let reason = provider.unavailableReason {
                    reasons.append("\(name): \(reason)")
                } else if let reason = await provider.refusal(for: volume, requested: false) {
                    reasons.append("\(name): \(reason)")
                } else {
                    chosen = provider
                    break
                }
            }
            guard let chosen else {
                throw QuiesceError(.invalidArgument, "no provider can snapshot \(volume.path) (\(volume.filesystem) at \(volume.mountPoint)): " + reasons.joined(separator: "; "))
            }
            add(volume, to: chosen)
        }
        return assignments
    }

    /// Takes every assignment's snapshots, all within ``writeHoldLimit`` (or `lease`, the frozen
    /// writers' shortest freeze lease, when it is shorter); returns, by volume path, the snapshot
    /// path. On a failure, or when the limit passes, it throws at once: the caller releases the
    /// writers, then deletes what was made (``delete(_:)``), so that no cleanup holds them.
    func take(
        _ assignments: [Assignment], setId: String, owner: UInt32, lease: Duration?, progress: @escaping @Sendable (String) -> Void
    ) async throws -> [String: String] {
        let ledger = self.ledger
        let limit = min(writeHoldLimit, lease ?? writeHoldLimit)
        return try await withThrowingTaskGroup(of: [String: String]?.self) { group in
            group.addTask {
                var snapshots: [String: String] = [:]
                for assignment in assignments {
                    let name = assignment.provider.name
                    progress("provider \(name): snapshot of \(assignment.volumes.map(\.path).joined(separator: ", "))")
                    let request = SnapshotRequest(setId: setId, volumes: assignment.volumes, owner: owner, holdLimit: limit, progress: progress) { item in
                        try await ledger.record(item, provider: name, set: setId)
                    }
                    snapshots.merge(try await assignment.provider.createSnapshots(request)) { $1 }
                }
                return snapshots
            }
            group.addTask {
                try await Task.sleep(for: limit)
                throw WriteHoldExceeded(limit: limit)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let snapshots = result { return snapshots }
            }
            throw CancellationError()
        }
    }

    /// Deletes everything recorded for set `setId`, newest first; returns what could not be removed.
    @discardableResult
    func delete(_ setId: String) async -> [String] {
        var problems: [String] = []
        do {
            for item in try await ledger.items(of: setId).reversed() {
                do {
                    guard let provider = providers[item.provider] else { throw QuiesceError(.invalidArgument, "no provider \(item.provider)") }
                    try await provider.delete(item.item)
                } catch {
                    problems.append("\(item.item): \(error)")
                }
            }
            if problems.isEmpty { try await ledger.forget(setId) }
        } catch {
            problems.append("\(error)")
        }
        return problems
    }

    /// Deletes every set in the ledger that is not kept (left by a quiesced that was killed);
    /// returns their ids and what could not be removed.
    func removeLeftovers() async -> (sets: [String], problems: [String]) {
        let keptIds = Set(((try? await kept.all()) ?? []).map(\.id))
        let sets = ((try? await ledger.sets()) ?? []).filter { !keptIds.contains($0) }
        var problems: [String] = []
        for set in sets { problems += await delete(set) }
        return (sets, problems)
    }
}

extension SnapshotTaker {
    /// Deletes kept set `id` and forgets it; returns what could not be removed (then it stays
    /// listed, to be tried again).
    func deleteKept(_ id: String) async -> [String] {
        let problems = await delete(id)
        if problems.isEmpty {
            do { try await kept.forget(id) } catch { return ["\(error)"] }
        }
        return problems
    }

    /// Deletes the kept sets whose time has come; returns their ids and what could not be removed.
    func expireKept(now: Date = Date()) async -> (sets: [String], problems: [String]) {
        let expired = ((try? await kept.all()) ?? []).filter { $0.expires <= now }.map(\.id)
        var problems: [String] = []
        for id in expired { problems += await deleteKept(id) }
        return (expired, problems)
    }
}

/// The provider step ran past the write-hold limit: the set fails rather than keep writers frozen.
struct WriteHoldExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "the snapshot took longer than the write-hold limit of \(limit); the writers were not kept frozen longer" }
}
