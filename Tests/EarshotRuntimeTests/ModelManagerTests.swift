import EarshotAudio
import EarshotModels
import EarshotTensor
import Foundation
import Testing
@testable import EarshotRuntime

/// The model manager's lifecycle: transitions, coalescing, in-flight safety, budget, TTL, isolation.
@Suite(.serialized) struct ModelManagerTests {
    let fast = TranscriptionOptions(maxNewTokens: 4, loopGuardRepeats: 0)

    @Test func lifecycleFollowsTheStateMachine() async throws {
        let m = try await ManagerFixtures.manager()
        #expect(try await m.state(of: "a") == .unloaded)
        await #expect(throws: RuntimeError.self) { try await m.unload("a") }          // notLoaded
        await #expect(throws: RuntimeError.self) { try await m.restart("a") }
        await #expect(throws: RuntimeError.self) { try await m.load("nope") }         // unknownModel
        await #expect(throws: RuntimeError.self) { try await m.register("a", directory: "/elsewhere") }
        let ready = try await m.load("a")
        #expect(ready.state == .ready && ready.loads == 1 && ready.mappedBytes > 0)
        try await m.load("a")                                                         // no-op
        #expect(try await m.status(of: "a").loads == 1)
        try await m.restart("a")
        try await m.unload("a")
        #expect(try await m.state(of: "a") == .unloaded)
        #expect(try await m.status(of: "a").mappedBytes == 0)
        // The transition table itself.
        #expect(ModelState.unloaded.allows(.loading) && ModelState.loading.allows(.ready))
        #expect(ModelState.loading.allows(.unloaded) && ModelState.ready.allows(.unloading))
        #expect(!ModelState.unloaded.allows(.ready) && !ModelState.ready.allows(.loading))
        #expect(!ModelState.unloading.allows(.ready) && !ModelState.loading.allows(.unloading))
    }

    @Test func concurrentLoadsOfOneModelCoalesce() async throws {
        let m = try await ManagerFixtures.manager()
        try await withThrowingTaskGroup(of: ModelStatus.self) { group in
            for _ in 0..<16 { group.addTask { try await m.load("tiny") } }
            for try await s in group { #expect(s.state == .ready) }
        }
        #expect(try await m.status(of: "tiny").loads == 1)
        await m.unloadAll()
    }

    @Test func unloadWhileLoadingIsAnIllegalTransition() async throws {
        let m = try await ManagerFixtures.manager()
        let loading = Task { try await m.load("tiny") }
        #expect(await ManagerFixtures.eventually { (try? await m.state(of: "tiny")) == .loading })
        do {
            try await m.unload("tiny")
            Issue.record("unload during load must fail")
        } catch {
            guard case .illegalTransition(_, .loading, .unloading) = error else { Issue.record("\(error)"); return }
        }
        _ = try await loading.value
        try await m.unload("tiny")
    }

    @Test func unloadWaitsForTheTranscriptionInFlight() async throws {
        let m = try await ManagerFixtures.manager()
        let opts = TranscriptionOptions(maxNewTokens: 6, loopGuardRepeats: 0)
        let solo = try await m.transcribe(ManagerFixtures.short, model: "tiny", options: opts)
        try #require(!solo.text.isEmpty, "the gate below holds the request at its first text")
        // The request is held at its first piece of text (this random model's whole text, sent
        // when its decode ends) until the unload is under way, so the test does not depend on how
        // fast six tokens decode.
        let gate = FirstCallGate()
        defer { gate.open() }   // never leave an inference thread waiting, whatever fails below
        let running = Task {
            try await m.transcribe(ManagerFixtures.short, model: "tiny", options: opts, onText: { _ in gate.pass() })
        }
        #expect(await ManagerFixtures.eventually { (try? await m.status(of: "tiny").inFlight) == 1 })
        let unloading = Task { try await m.unload("tiny") }
        #expect(await ManagerFixtures.eventually { (try? await m.state(of: "tiny")) == .unloading })
        gate.open()
        try await unloading.value
        // The request finished on intact weights before the unmap.
        let r = try await running.value
        #expect(r.tokenIDs == solo.tokenIDs)
        #expect(try await m.state(of: "tiny") == .unloaded)
    }

    @Test func unloadCanCancelTheTranscriptionInFlight() async throws {
        let m = try await ManagerFixtures.manager()
        try await m.load("tiny")
        let running = Task {
            try await m.transcribe(ManagerFixtures.fox, model: "tiny", options: .init(maxNewTokens: 500, loopGuardRepeats: 0))
        }
        #expect(await ManagerFixtures.eventually { (try? await m.status(of: "tiny").inFlight) == 1 })
        try await m.unload("tiny", mode: .cancel)
        await #expect(throws: RuntimeError.self) { try await running.value }
        #expect(try await m.state(of: "tiny") == .unloaded)
        // Cancelling the caller's task cancels too, and the model stays usable.
        let again = Task {
            try await m.transcribe(ManagerFixtures.fox, model: "tiny", options: .init(maxNewTokens: 500, loopGuardRepeats: 0))
        }
        #expect(await ManagerFixtures.eventually { (try? await m.status(of: "tiny").inFlight) == 1 })
        again.cancel()
        do { _ = try await again.value; Issue.record("expected cancellation") } catch {
            guard case .cancelled = error as? RuntimeError else { Issue.record("\(error)"); return }
        }
        #expect(try await m.transcribe(ManagerFixtures.short, model: "tiny", options: fast).tokenIDs.count == 4)
        await m.unloadAll()
    }

    @Test func budgetEvictsTheLeastRecentlyUsedIdleModel() async throws {
        let one = ManagerFixtures.estimate(ManagerFixtures.microA)
        let m = try await ManagerFixtures.manager(.init(memoryBudgetBytes: 2 * one + one / 2))
        try await m.load("a")
        try await m.load("b")
        _ = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)   // a is now the most recent
        try await m.load("c")
        #expect(try await m.state(of: "a") == .ready)
        #expect(try await m.state(of: "b") == .unloaded)
        #expect(try await m.state(of: "c") == .ready)
        await m.unloadAll()
    }

    /// With room for one model, a request for b while a is busy either fails at once (default) or,
    /// with `waitForBusyModels`, waits for a to finish, evicts it and runs (a server's behaviour).
    @Test func loadsWaitForBusyModelsWhenAsked() async throws {
        let one = ManagerFixtures.estimate(ManagerFixtures.microA)
        let slow = TranscriptionOptions(maxNewTokens: 400, loopGuardRepeats: 0, ignoreEOS: true)
        for wait in [false, true] {
            let m = try await ManagerFixtures.manager(.init(memoryBudgetBytes: one + one / 2, waitForBusyModels: wait))
            try await m.load("a")
            // a's request is held at its text (sent when its decode ends: a micro model decodes 400
            // tokens in milliseconds) until b's request has been refused or is waiting for room.
            let gate = FirstCallGate()
            defer { gate.open() }
            let busy = Task {
                try await m.transcribe(ManagerFixtures.short, model: "a", options: slow, onText: { _ in gate.pass() })
            }
            #expect(await ManagerFixtures.eventually { (try? await m.status(of: "a").inFlight) == 1 })
            let fast = fast
            let otherTask = Task { () -> Result<TranscriptionResult, RuntimeError> in
                do throws(RuntimeError) {
                    return .success(try await m.transcribe(ManagerFixtures.short, model: "b", options: fast))
                } catch {
                    return .failure(error)
                }
            }
            if wait {
                #expect(await ManagerFixtures.eventually { await m.counters.waitsForRoom >= 1 })
                gate.open()
            }
            let other = await otherTask.value
            gate.open()
            let first = try await busy.value
            #expect(!first.text.isEmpty, "the gate held the request at its text")
            #expect(first.tokenIDs.count == 400)
            let counters = await m.counters
            if wait {
                #expect(try other.get().tokenIDs.count == 4)
                #expect(counters.waitsForRoom >= 1 && counters.evictions == 1)
                #expect(try await m.state(of: "a") == .unloaded)
                #expect(try await m.state(of: "b") == .ready)
                #expect(try await m.status(of: "a").unloads == 1)
            } else {
                guard case .failure(.overBudget(let name, _, _, _)) = other else { Issue.record("\(other)"); continue }
                #expect(name == "b" && counters.waitsForRoom == 0 && counters.evictions == 0)
                #expect(try await m.state(of: "a") == .ready)
            }
            #expect(counters.loads == (wait ? 2 : 1) && counters.failedLoads == 0)
            await m.unloadAll()
        }
    }

    @Test func refusedLoadsLeaveLoadedModelsIntact() async throws {
        let one = ManagerFixtures.estimate(ManagerFixtures.microA)
        let m = try await ManagerFixtures.manager(.init(memoryBudgetBytes: one + one / 2))
        let before = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)
        // The tiny model alone exceeds the budget: refused before anything is evicted.
        do { try await m.load("tiny"); Issue.record("expected overBudget") } catch {
            guard case .overBudget(let name, _, _, _) = error else { Issue.record("\(error)"); return }
            #expect(name == "tiny")
        }
        #expect(try await m.state(of: "a") == .ready)
        // A broken model directory is a typed error too.
        let broken = ManagerFixtures.root.appendingPathComponent("broken").path
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data("{\"model_type\": \"qwen3_asr\"}".utf8).write(to: URL(fileURLWithPath: broken + "/config.json"))
        try await m.register("broken", directory: broken)
        await #expect(throws: RuntimeError.self) { try await m.load("broken") }
        #expect(try await m.state(of: "broken") == .unloaded)
        // The machine's memory: nothing fits in 1 MB, and nothing is evicted trying.
        let tight = try await ManagerFixtures.manager(.init(availableMemory: { 1 << 20 }))
        do { try await tight.load("tiny"); Issue.record("expected insufficientMemory") } catch {
            guard case .insufficientMemory = error else { Issue.record("\(error)"); return }
        }
        let after = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)
        #expect(after.tokenIDs == before.tokenIDs)
        #expect(try await m.status(of: "a").loads == 1)
        await m.unloadAll()
    }

    @Test func idleModelsUnloadAfterTheTimeout() async throws {
        let m = try await ManagerFixtures.manager(.init(idleTimeout: .milliseconds(150)))
        try await m.load("a")
        _ = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)
        #expect(await ManagerFixtures.eventually(seconds: 10) { (try? await m.state(of: "a")) == .unloaded })
        // Used again, it loads on demand.
        _ = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)
        #expect(try await m.status(of: "a").loads == 2)
        await m.unloadAll()
    }

    @Test func switchPoliciesLeaveOneModelResident() async throws {
        // Room for one model: .automatic must unload first instead of failing the budget.
        let one = ManagerFixtures.estimate(ManagerFixtures.microA)
        let tight = try await ManagerFixtures.manager(.init(memoryBudgetBytes: one + one / 2))
        try await tight.load("a")
        let b = try await tight.switchTo("b")
        #expect(b.state == .ready)
        #expect(try await tight.state(of: "a") == .unloaded)
        // Room for both: load-then-swap keeps serving the old model until the new one is ready.
        let roomy = try await ManagerFixtures.manager()
        try await roomy.load("b")
        for policy in [SwitchPolicy.loadThenSwap, .unloadThenLoad, .automatic] {
            let target = try await roomy.state(of: "a") == .ready ? "b" : "a"
            try await roomy.switchTo(target, policy: policy)
            #expect(await roomy.models.filter { $0.state == .ready }.map(\.name) == [target])
        }
        await tight.unloadAll()
        await roomy.unloadAll()
    }

    @Test func concurrentSwitchesAndRequestsFromManyTasks() async throws {
        let m = try await ManagerFixtures.manager(.init(sessionsPerModel: 2))
        let soloA = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast)
        let soloB = try await m.transcribe(ManagerFixtures.short, model: "b", options: fast)
        #expect(soloA.tokenIDs != soloB.tokenIDs)
        let mapped = MemoryCounters.anonymousBytes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<32 {
                let name = i % 2 == 0 ? "a" : "b"
                group.addTask {
                    if i % 4 < 2 {
                        try await m.switchTo(name)
                    } else {
                        let r = try await m.transcribe(ManagerFixtures.short, model: name, options: self.fast)
                        #expect(r.tokenIDs == (name == "a" ? soloA.tokenIDs : soloB.tokenIDs))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await m.switchTo("b")
        #expect(try await m.state(of: "a") == .unloaded)
        #expect(try await m.state(of: "b") == .ready)
        await m.unloadAll()
        #expect(MemoryCounters.anonymousBytes <= mapped)
    }

    @Test func twoResidentModelsTranscribeConcurrentlyInIsolation() async throws {
        let m = try await ManagerFixtures.manager()
        let opts = TranscriptionOptions(maxNewTokens: 5, loopGuardRepeats: 0)
        let tinyFox = try await m.transcribe(ManagerFixtures.fox, model: "tiny", options: opts)
        let microShort = try await m.transcribe(ManagerFixtures.short, model: "a", options: opts)
        try await withThrowingTaskGroup(of: (String, [Int]).self) { group in
            for i in 0..<6 {
                group.addTask {
                    i % 2 == 0
                        ? ("tiny", try await m.transcribe(ManagerFixtures.fox, model: "tiny", options: opts).tokenIDs)
                        : ("a", try await m.transcribe(ManagerFixtures.short, model: "a", options: opts).tokenIDs)
                }
            }
            for try await (name, ids) in group {
                #expect(ids == (name == "tiny" ? tinyFox.tokenIDs : microShort.tokenIDs))
            }
        }
        await m.unloadAll()
    }
}
