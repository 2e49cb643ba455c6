import EarshotModels
import Foundation

/// Owns every loaded model: loads, unloads, switches and restarts them, keeps memory within a
/// budget, and lends pooled sessions to transcriptions.
///
/// ## Lifecycle of one model
///
///     unloaded --load--> loading --ok--> ready --unload--> unloading --drained + unmapped--> unloaded
///                           `--error--> unloaded
///
/// - `load`: on `ready` a no-op; on `loading` it joins the load in progress (concurrent loads of
///   one model coalesce into one); on `unloading` it waits for the unload, then loads again.
///   Before mapping anything it checks the fit (`MemoryEstimate`) against the budget and the
///   machine's available memory, evicting idle models least recently used first; a load that
///   cannot fit is refused (`overBudget`, `insufficientMemory`) and nothing loaded is touched.
/// - `unload`: on `ready` it waits for transcriptions in flight (or cancels them), then closes the
///   sessions, unmaps the weights and trims malloc; on `unloading` it joins; on `unloaded` it is
///   `notLoaded`; on `loading` it is `illegalTransition` (there is nothing to unload yet).
/// - `restart`: on `ready`, forgets every session's decoded context; weights are untouched.
/// - `switchTo`: one model resident afterwards; switches are serialised with each other.
///
/// Every state change goes through `move(_:to:)`, which rejects edges not drawn above.
/// Weights are read-only and shared by a model's sessions; sessions (KV cache, scratch) come from
/// a bounded per-model pool (`sessionsPerModel`) and are reused request after request.
public actor ModelManager {
    public let configuration: ModelManagerConfiguration

    final class Entry {
        /// The lifecycle state with the resources it owns: the load in progress, the loaded model,
        /// the unload in progress (with the model it is releasing). No optional field can disagree
        /// with the state.
        enum Phase {
            case unloaded
            case loading(Task<Result<Void, RuntimeError>, Never>)
            case ready(LoadedModel)
            case unloading(Task<Void, Never>, LoadedModel)

            var state: ModelState {
                switch self {
                case .unloaded: .unloaded
                case .loading: .loading
                case .ready: .ready
                case .unloading: .unloading
                }
            }
        }

        let name: String
        let directory: String
        fileprivate(set) var phase: Phase = .unloaded
        var state: ModelState { phase.state }
        /// The model while it is mapped (ready, or still unloading).
        var model: LoadedModel? {
            switch phase {
            case .ready(let m), .unloading(_, let m): m
            case .unloaded, .loading: nil
            }
        }
        var loading: Task<Result<Void, RuntimeError>, Never>? { if case .loading(let t) = phase { t } else { nil } }
        var unloading: Task<Void, Never>? { if case .unloading(let t, _) = phase { t } else { nil } }
        var estimate = 0
        var idle: [Session] = []
        var busy: [ObjectIdentifier: Session] = [:]
        var sessionWaiters: [CheckedContinuation<Void, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        var lastUsed = ContinuousClock.now
        var loads = 0
        var unloads = 0
        init(name: String, directory: String) { self.name = name; self.directory = directory }
    }

    var entries: [String: Entry] = [:]
    /// What the manager has done so far (loads, unloads, evictions...).
    public private(set) var counters = LifecycleCounters()
    /// Loads waiting for busy models to go idle (`waitForBusyModels`); woken on every check-in.
    var roomWaiters: [CheckedContinuation<Void, Never>] = []
    /// Watches for idle models while any is ready (see `scheduleIdleUnload`).
    private var reaper: Task<Void, Never>?
    private var switching = false
    private var switchWaiters: [CheckedContinuation<Void, Never>] = []

    public init(configuration: ModelManagerConfiguration = .init()) {
        self.configuration = configuration
        if let limit = configuration.mallocArenaLimit { MemoryReport.limitMallocArenas(limit) }
        if let threshold = configuration.mallocMmapThreshold { MemoryReport.fixMallocMmapThreshold(threshold) }
    }

    // MARK: Registration and status

    /// Names a model directory. Re-registering the same pair is a no-op.
    public func register(_ name: String, directory: String) throws(RuntimeError) {
        if let e = entries[name] {
            guard e.directory == directory else {
                throw .conflictingRegistration(name, existing: e.directory, requested: directory)
            }
            return
        }
        entries[name] = Entry(name: name, directory: directory)
    }

    public func state(of name: String) throws(RuntimeError) -> ModelState { try entry(name).state }

    public func status(of name: String) throws(RuntimeError) -> ModelStatus { status(try entry(name)) }

    /// Every registered model, by name.
    public var models: [ModelStatus] { entries.keys.sorted().map { status(entries[$0]!) } }

    func status(_ e: Entry) -> ModelStatus {
        let sessions = e.idle + Array(e.busy.values)
        return ModelStatus(name: e.name, directory: e.directory, state: e.state,
                           mappedBytes: (e.model?.mappedBytes ?? 0) + sessions.reduce(0) { $0 + $1.mappedBytes },
                           estimatedBytes: e.estimate, inFlight: e.busy.count, sessions: sessions.count, loads: e.loads, unloads: e.unloads)
    }

    func entry(_ name: String) throws(RuntimeError) -> Entry {
        guard let e = entries[name] else { throw .unknownModel(name, known: Array(entries.keys)) }
        return e
    }

    func move(_ e: Entry, to next: Entry.Phase) throws(RuntimeError) {
        try check(e, to: next.state)
        e.phase = next
    }

    /// Throws `illegalTransition` unless the lifecycle above draws the edge.
    func check(_ e: Entry, to next: ModelState) throws(RuntimeError) {
        guard e.state.allows(next) else { throw .illegalTransition(model: e.name, from: e.state, to: next) }
    }

    // MARK: Load

    /// Loads `name` (see the lifecycle above) and returns its status once ready.
    @discardableResult
    public func load(_ name: String) async throws(RuntimeError) -> ModelStatus {
        let e = try entry(name)
        while true {
            switch e.phase {
            case .ready:
                e.lastUsed = .now
                scheduleIdleUnload(e)
                return status(e)
            case .loading(let task):
                if case .failure(let error) = await task.value { throw error }
            case .unloading(let task, _):
                await task.value
            case .unloaded:
                try await reserveAndLoad(e)
            }
        }
    }

    /// Checks the fit (evicting idle models if needed), then maps the model off the actor.
    private func reserveAndLoad(_ e: Entry) async throws(RuntimeError) {
        let estimate = try residentEstimate(e)
        try await makeRoom(for: e, bytes: estimate)
        guard e.state == .unloaded else { return }   // someone else started it while we evicted
        e.estimate = estimate
        try check(e, to: .loading)
        let directory = e.directory, precision = configuration.precision, name = e.name
        // The task records the outcome in the entry before it completes, so whoever awaits it
        // (the first caller and every coalesced one) resumes to a settled state.
        let task = Task { () -> Result<Void, RuntimeError> in
            let result = await Blocking.run {
                Result { () throws(ModelError) in try ModelRegistry.load(directory: directory, precision: precision) }
                    .mapError { RuntimeError.loadFailed(model: name, $0) }
            }
            return self.finishLoad(name, result)
        }
        try move(e, to: .loading(task))   // before the task can run: it runs on this actor
        if case .failure(let error) = await task.value { throw error }
    }

    private func finishLoad(_ name: String, _ result: Result<LoadedModel, RuntimeError>) -> Result<Void, RuntimeError> {
        guard let e = entries[name] else { return .failure(.unknownModel(name, known: Array(entries.keys))) }
        switch result {
        case .success(let model):
            e.loads += 1
            counters.loads += 1
            e.lastUsed = .now
            try? move(e, to: .ready(model))
            scheduleIdleUnload(e)
            return .success(())
        case .failure(let error):
            counters.failedLoads += 1
            try? move(e, to: .unloaded)
            if configuration.trimAfterUnload { MemoryReport.trimMalloc() }
            return .failure(error)
        }
    }

    /// What `e` is expected to keep resident with a full session pool (see `MemoryEstimate`).
    private func residentEstimate(_ e: Entry) throws(RuntimeError) -> Int {
        do {
            return try ModelRegistry.estimate(directory: e.directory, precision: configuration.precision)
                .total(sessions: configuration.sessionsPerModel)
        } catch {
            throw .loadFailed(model: e.name, error)
        }
    }

    /// Whether `bytes` more fit the budget (next to every model but `e`) and the machine, as things stand.
    private func fits(_ bytes: Int, besides e: Entry) -> (budget: Bool, machine: Bool) {
        let total = reservedBytes(excluding: e).addingReportingOverflow(bytes)   // bytes may be Int.max (unknown)
        let budget = configuration.memoryBudgetBytes.map { !total.overflow && total.partialValue <= $0 } ?? true
        return (budget, bytes <= (configuration.availableMemory?() ?? Int.max))
    }

    /// Bytes reserved by models that are loaded, loading or still unloading.
    private func reservedBytes(excluding e: Entry) -> Int {
        entries.values.filter { $0 !== e && $0.state != .unloaded }.reduce(0) { $0 + $1.estimate }
    }

    /// The least recently used model that is ready and idle, other than `e`.
    private func evictionCandidate(sparing e: Entry) -> Entry? {
        entries.values.filter { $0 !== e && $0.state == .ready && $0.busy.isEmpty }.min { $0.lastUsed < $1.lastUsed }
    }

    /// Evicts idle models (least recently used first) until `bytes` fits the budget and the
    /// machine. When even evicting every idle model could not make room, it throws before
    /// evicting anything, so a refused load leaves the loaded models as they were.
    private func makeRoom(for e: Entry, bytes: Int) async throws(RuntimeError) {
        while true {
            let fit = fits(bytes, besides: e)
            guard !fit.budget || !fit.machine else { return }
            let overBudget = !fit.budget, overMachine = !fit.machine
            let reserved = reservedBytes(excluding: e)
            let available = configuration.availableMemory?() ?? Int.max
            let freeable = entries.values.filter { $0 !== e && $0.state == .ready && $0.busy.isEmpty }
                .reduce(0) { $0 + $1.estimate }
            if overBudget, let budget = configuration.memoryBudgetBytes, reserved - freeable + bytes > budget {
                // Busy models are what stands in the way: wait for one to go idle, then look again.
                if configuration.waitForBusyModels, bytes <= budget, !Task.isCancelled,
                   entries.values.contains(where: { $0 !== e && !$0.busy.isEmpty }) {
                    counters.waitsForRoom += 1
                    await waitForRoom()
                    continue
                }
                if Task.isCancelled { throw .cancelled }
                throw .overBudget(model: e.name, neededBytes: bytes, budgetBytes: budget, inUseBytes: reserved)
            }
            if overMachine, available.addingReportingOverflow(freeable).partialValue < bytes {
                throw .insufficientMemory(model: e.name, neededBytes: bytes, availableBytes: available)
            }
            guard let victim = evictionCandidate(sparing: e) else {
                throw .insufficientMemory(model: e.name, neededBytes: bytes, availableBytes: available)
            }
            counters.evictions += 1
            await performUnload(victim, mode: .wait)
        }
    }

    // MARK: Unload

    /// Unloads `name` (see the lifecycle above).
    public func unload(_ name: String, mode: UnloadMode = .wait) async throws(RuntimeError) {
        let e = try entry(name)
        switch e.state {
        case .unloaded: throw .notLoaded(name)
        case .loading: throw .illegalTransition(model: name, from: .loading, to: .unloading)
        case .unloading: await e.unloading?.value
        case .ready: await performUnload(e, mode: mode)
        }
    }

    /// Unloads every model (waiting for, or cancelling, their requests).
    public func unloadAll(mode: UnloadMode = .wait) async {
        for e in entries.values {
            if e.state == .loading { _ = await e.loading?.value }
            if e.state == .ready || e.state == .unloading { try? await unload(e.name, mode: mode) }
        }
    }

    func performUnload(_ e: Entry, mode: UnloadMode) async {
        guard case .ready(let model) = e.phase else { await e.unloading?.value; return }
        let name = e.name
        let task = Task { await self.drainAndRelease(name, mode: mode) }
        try? move(e, to: .unloading(task, model))   // ready -> unloading is always legal; set before the task runs
        await task.value
    }

    private func drainAndRelease(_ name: String, mode: UnloadMode) async {
        guard let e = entries[name] else { return }
        if mode == .cancel { for s in e.busy.values { s.cancel() } }
        while !e.busy.isEmpty { await withCheckedContinuation { e.drainWaiters.append($0) } }
        for s in e.idle { s.close() }
        e.idle.removeAll()
        e.model?.close()
        e.unloads += 1
        counters.unloads += 1
        try? move(e, to: .unloaded)
        if configuration.trimAfterUnload { MemoryReport.trimMalloc() }
        // Requests that were waiting for a session re-route (and load again on demand).
        let waiters = e.sessionWaiters
        e.sessionWaiters.removeAll()
        for w in waiters { w.resume() }
    }

    /// Suspends until a session is checked in somewhere (or the task is cancelled).
    private func waitForRoom() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { roomWaiters.append($0) }
        } onCancel: {
            Task { await self.wakeRoomWaiters() }
        }
    }

    /// Wakes every load waiting for room; each looks at the budget again.
    func wakeRoomWaiters() {
        let waiters = roomWaiters
        roomWaiters.removeAll()
        for w in waiters { w.resume() }
    }

    // MARK: Switch and restart

    /// Makes `name` the only resident model. With `.automatic`, loads it before unloading the
    /// others when both fit (no gap in service), else unloads first (lowest peak).
    @discardableResult
    public func switchTo(_ name: String, policy: SwitchPolicy = .automatic,
                         mode: UnloadMode = .wait) async throws(RuntimeError) -> ModelStatus {
        let target = try entry(name)
        while switching { await withCheckedContinuation { switchWaiters.append($0) } }
        switching = true
        defer {
            switching = false
            if !switchWaiters.isEmpty { switchWaiters.removeFirst().resume() }
        }
        var loadFirst = policy == .loadThenSwap
        if policy == .automatic, target.state != .ready {
            let fit = fits((try? residentEstimate(target)) ?? Int.max, besides: target)
            loadFirst = fit.budget && fit.machine
        }
        let others = { self.entries.values.filter { $0 !== target && $0.state != .unloaded } }
        if !loadFirst {
            for o in others() {
                if o.state == .loading { _ = await o.loading?.value }
                await performUnload(o, mode: mode)
            }
        }
        let status = try await load(name)
        for o in others() {
            if o.state == .loading { _ = await o.loading?.value }
            await performUnload(o, mode: mode)
        }
        return status
    }

    /// Forgets the decoded context of every idle session of `name` (sessions in flight start
    /// fresh on their next request anyway). Weights and buffers are untouched.
    public func restart(_ name: String) throws(RuntimeError) {
        let e = try entry(name)
        guard e.state == .ready else { throw .notLoaded(name) }
        for s in e.idle { s.reset() }
    }

    // MARK: Idle timeout

    /// Makes sure idle models are watched. One reaper task per manager, while any model is ready,
    /// wakes every `tick` and unloads models idle for longer than the timeout.
    ///
    /// Why not a timer per model re-armed on every request: a `Task.sleep` cancelled early keeps
    /// its timer (~800 B) until the original deadline, so re-arming a 300 s timeout per request
    /// retained memory in proportion to the request rate (measured at the server: ~1.5 KB per
    /// request, never plateauing under steady load). The reaper's sleeps are never cancelled.
    func scheduleIdleUnload(_ e: Entry) {
        guard let timeout = configuration.idleTimeout, reaper == nil else { return }
        let tick = min(Duration.seconds(1), max(Duration.milliseconds(10), timeout / 8))
        reaper = Task { [weak self] in
            while true {
                try? await Task.sleep(for: tick)
                guard let manager = self, await manager.unloadExpired(timeout: timeout) else { return }
            }
        }
    }

    /// Unloads every ready, idle model unused for `timeout`; false (and the reaper ends) when no
    /// model is ready any more.
    private func unloadExpired(timeout: Duration) async -> Bool {
        let now = ContinuousClock.now
        for e in entries.values where e.state == .ready && e.busy.isEmpty && now - e.lastUsed >= timeout {
            await performUnload(e, mode: .wait)
        }
        guard entries.values.contains(where: { $0.state == .ready || $0.state == .loading }) else {
            reaper = nil
            return false
        }
        return true
    }
}
