import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// A small seeded generator, so that a failing fuzz run can be repeated.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random D-Bus values of every type, some of them huge.
private func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> BusValue {
    let pick = Int.random(in: 0..<(depth > 2 ? 10 : 14), using: &rng)
    switch pick {
    case 0: return .bool(Bool.random(using: &rng))
    case 1: return .uint32(UInt32.random(in: 0...UInt32.max, using: &rng))
    case 2: return .int64(Int64.random(in: Int64.min...Int64.max, using: &rng))
    case 3: return .double(Double.random(in: -1e9...1e9, using: &rng))
    case 4: return .string(String(repeating: "x", count: Int.random(in: 0...8, using: &rng) == 0 ? 1 << 20 : Int.random(in: 0...64, using: &rng)))
    case 5: return .string(["/", "/srv/../etc", "relative", "full", "Freeze", "", "\u{1F600}", "a b"].randomElement(using: &rng)!)
    case 6: return .objectPath(["/", "/org/quiesce/Session/x", "/a/b"].randomElement(using: &rng)!)
    case 7: return .byte(UInt8.random(in: 0...255, using: &rng))
    case 8: return .strings((0..<Int.random(in: 0...5, using: &rng)).map { _ in ["/srv", "/", "x", "../y"].randomElement(using: &rng)! })
    case 9: return .uint64(UInt64.random(in: 0...UInt64.max, using: &rng))
    case 10: return .variant(randomValue(&rng, depth: depth + 1))
    case 11: return .structure((0..<Int.random(in: 1...3, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    case 12:
        var entries: [String: BusValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            entries[["backup-type", "components", "volumes", "lease-ms", "succeeded", "provider", "colour", "snapshot-set-id"].randomElement(using: &rng)!] = randomValue(&rng, depth: depth + 1)
        }
        return .vardict(entries)
    default: return .array(elementType: "(ss)", [.structure([.string("w"), .string(["data", "", "x/y"].randomElement(using: &rng)!)])])
    }
}

@Suite("Fuzzing with malformed calls", .serialized)
struct FuzzTests {
    @Test("Thousands of malformed calls: quiesced and the writer keep running, change nothing, stay bounded in memory")
    func fuzz() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator(["--max-sessions", "4"])
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let before = (coordinator: Harness.footprint(of: coordinator.pid), writer: Harness.footprint(of: writer.pid))
            var rng = SplitMix64(state: 20261127)
            let fuzzer = try await BusConnection.connect(to: .address(harness.bus.address))

            // Phase 1: the coordinator and its sessions, and the writer as a stranger.
            var calls: [(String, String, String, String, [BusValue])] = []
            for _ in 0..<3000 {
                let destination = [BusNames.coordinator, BusNames.writerBusName("w")].randomElement(using: &rng)!
                let path = [BusNames.coordinatorPath, BusNames.writerPath, BusNames.sessionPathPrefix + "0000", "/", "/org/quiesce"].randomElement(using: &rng)!
                let interface = [Coordinator1.name, Session1.name, Writer1.name, "org.freedesktop.DBus.Properties", "org.quiesce.Nope1"].randomElement(using: &rng)!
                let method = ["ListWriters", "CreateSession", "GatherWriterMetadata", "AddVolumes", "PrepareForBackup", "DoSnapshotSet", "Freeze", "Thaw", "Get", "GetAll", "Set", "Close", "Bogus"].randomElement(using: &rng)!
                let arguments = (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng) }
                calls.append((destination, path, interface, method, arguments))
            }
            var answered = 0
            for batch in stride(from: 0, to: calls.count, by: 32) {
                answered += await withTaskGroup(of: Int.self) { group in
                    for call in calls[batch..<min(batch + 32, calls.count)] {
                        group.addTask {
                            do {
                                _ = try await fuzzer.call(destination: call.0, path: call.1, interface: call.2, method: call.3, arguments: call.4, timeout: .seconds(10))
                            } catch let error as BusError where error.isTimeout {
                                return 0
                            } catch {}
                            return 1
                        }
                    }
                    return await group.reduce(0, +)
                }
            }
            #expect(answered == calls.count, "some calls got no answer within 10 s")

            #expect(coordinator.isRunning)
            #expect(try await QuiesceClient(connection: harness.connection).listSessions().allSatisfy { $0.owner == fuzzer.uniqueName })
            let coordinatorAfter = Harness.footprint(of: coordinator.pid)
            print("fuzz: quiesced RSS \(before.coordinator.rssKiB) KiB -> \(coordinatorAfter.rssKiB) KiB, fds \(before.coordinator.fds) -> \(coordinatorAfter.fds)")
            #expect(coordinatorAfter.rssKiB - before.coordinator.rssKiB < 32 * 1024)

            // Phase 2: the writer's own validation, with the fuzzer owning the coordinator's name.
            await coordinator.terminate()
            try await fuzzer.requestName(BusNames.coordinator)
            let writerEvents = WriterEvent.allCases.filter { $0 != .identify }
            var refused = 0
            for index in 0..<3000 {
                let event = writerEvents.randomElement(using: &rng)!
                // Every call has at least one flaw: a bad signature, a bad id, a bad option, or an
                // event that does not start a session, on a session never started.
                var arguments: [BusValue]
                switch index % 4 {
                case 0: arguments = [randomValue(&rng)]
                case 1: arguments = [.string(["", "bad id", String(repeating: "z", count: 70), "ü"].randomElement(using: &rng)!), .vardict([:])]
                case 2: arguments = [.string("s\(index)"), .vardict(["lease-ms": randomValue(&rng)])]  // Freeze only, and out of order
                default:
                    let outOfOrder = [WriterEvent.prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete, .postRestore].randomElement(using: &rng)!
                    arguments = [.string("never-started-\(index)"), .vardict([:])]
                    do {
                        _ = try await fuzzer.call(destination: BusNames.writerBusName("w"), path: BusNames.writerPath, interface: Writer1.name, method: outOfOrder.methodName, arguments: arguments)
                    } catch { refused += 1 }
                    continue
                }
                do {
                    _ = try await fuzzer.call(destination: BusNames.writerBusName("w"), path: BusNames.writerPath, interface: Writer1.name, method: event.methodName, arguments: arguments)
                } catch { refused += 1 }
            }
            #expect(refused == 3000)
            await fuzzer.close()

            #expect(writer.isRunning)
            #expect(events(of: writer).isEmpty)
            #expect(try await harness.writerProperty("w", "Sessions") == "u 0")
            #expect(try await harness.writerProperty("w", "State") == "s \"stable\"")
            let after = Harness.footprint(of: writer.pid)
            print("fuzz: writer RSS \(before.writer.rssKiB) KiB -> \(after.rssKiB) KiB, fds \(before.writer.fds) -> \(after.fds)")
            #expect(after.rssKiB - before.writer.rssKiB < 32 * 1024)

            // quiesced ran through phase 1 and stopped cleanly on SIGTERM; started again, it has no session.
            #expect(await coordinator.waitForExit() == 0)
            let restarted = try await harness.start("quiesced-again", "quiesced", ["--state-dir", harness.stateDirectory], waitFor: BusNames.coordinator)
            #expect(try await QuiesceClient(connection: harness.connection).listSessions().isEmpty)
            await restarted.terminate()
        }
    }
}
