import EarshotModels
import Foundation

/// Where a model is in its lifecycle (see `ModelManager` for the transitions).
public enum ModelState: String, Sendable, Codable, CustomStringConvertible {
    case unloaded, loading, ready, unloading
    public var description: String { rawValue }

    /// The edges of the lifecycle; anything else is `RuntimeError.illegalTransition`.
    func allows(_ next: ModelState) -> Bool {
        switch (self, next) {
        case (.unloaded, .loading), (.loading, .ready), (.loading, .unloaded),
             (.ready, .unloading), (.unloading, .unloaded): return true
        default: return false
        }
    }
}

/// How `switchTo` replaces the models in memory.
public enum SwitchPolicy: String, Sendable, Codable {
    /// Unload the others first: peak memory is the larger model alone.
    case unloadThenLoad = "unload-then-load"
    /// Load the new model while the old ones keep serving, then unload them: no gap in service,
    /// needs room for both.
    case loadThenSwap = "load-then-swap"
    /// `loadThenSwap` when the budget and the machine allow both at once, else `unloadThenLoad`.
    case automatic
}

/// What unloading does with transcriptions in flight.
public enum UnloadMode: String, Sendable, Codable {
    /// Wait for them to finish (never a use-after-free).
    case wait
    /// Cancel them (they end with `RuntimeError.cancelled` at their next token), then unload.
    case cancel
}

/// The manager's knobs.
public struct ModelManagerConfiguration: Sendable {
    /// Resident bytes all loaded models may use together (by `MemoryEstimate`); nil is no budget
    /// beyond the machine's available memory. Idle models are evicted, least recently used first.
    public var memoryBudgetBytes: Int?
    /// Unload a model this long after its last use; nil keeps models until told otherwise.
    public var idleTimeout: Duration?
    /// Sessions (concurrent transcriptions) per model; further requests wait for a free one.
    public var sessionsPerModel: Int
    /// `transcribe` loads the named model when it is not loaded (subject to the budget).
    public var loadOnDemand: Bool
    /// Return freed heap to the kernel after each unload (`malloc_trim(0)` on Linux).
    public var trimAfterUnload: Bool
    public var precision: WeightPrecision
    /// Cap on glibc malloc arenas, applied process-wide when the manager is made (see
    /// `MemoryReport.limitMallocArenas`); nil leaves glibc's default (8 per core).
    public var mallocArenaLimit: Int?
    /// Fixed glibc mmap threshold, applied process-wide when the manager is made (see
    /// `MemoryReport.fixMallocMmapThreshold`); nil leaves glibc's dynamic threshold.
    public var mallocMmapThreshold: Int?
    /// Free memory the machine has, for the fit check (injectable for tests); nil skips the check.
    public var availableMemory: (@Sendable () -> Int?)?
    /// When a load does not fit only because other models are busy (it would fit with them
    /// unloaded), wait for them to go idle and evict them instead of refusing with `overBudget`.
    /// A server wants this (requests for another model queue behind the running ones); a caller
    /// that prefers an immediate answer does not. Waiting ends when the calling task is cancelled.
    public var waitForBusyModels: Bool

    public init(memoryBudgetBytes: Int? = nil, idleTimeout: Duration? = nil, sessionsPerModel: Int = 1,
                loadOnDemand: Bool = true, trimAfterUnload: Bool = true, precision: WeightPrecision = .inPlace,
                mallocArenaLimit: Int? = 2, mallocMmapThreshold: Int? = 256 * 1024,
                availableMemory: (@Sendable () -> Int?)? = { MemoryReport.availableSystemBytes() },
                waitForBusyModels: Bool = false) {
        self.memoryBudgetBytes = memoryBudgetBytes
        self.idleTimeout = idleTimeout
        self.sessionsPerModel = max(1, sessionsPerModel)
        self.loadOnDemand = loadOnDemand
        self.trimAfterUnload = trimAfterUnload
        self.precision = precision
        self.mallocArenaLimit = mallocArenaLimit
        self.mallocMmapThreshold = mallocMmapThreshold
        self.availableMemory = availableMemory
        self.waitForBusyModels = waitForBusyModels
    }
}

/// A model as the manager sees it.
public struct ModelStatus: Sendable, Codable, Equatable {
    public var name: String
    public var directory: String
    public var state: ModelState
    /// Bytes currently mapped for its weights and its sessions.
    public var mappedBytes: Int
    /// The resident cost the fit check reserves for it.
    public var estimatedBytes: Int
    public var inFlight: Int
    public var sessions: Int
    /// Completed loads since registration.
    public var loads: Int
    /// Completed unloads since registration (explicit, idle, evicted or switched away).
    public var unloads: Int = 0
}

/// What the manager has done since it was made, for metrics.
public struct LifecycleCounters: Sendable, Codable, Equatable {
    public var loads = 0
    public var failedLoads = 0
    public var unloads = 0
    /// Unloads made to fit another model (a subset of `unloads`).
    public var evictions = 0
    /// Loads that had to wait for busy models to go idle (`waitForBusyModels`).
    public var waitsForRoom = 0
    public init() {}
}

/// Runs blocking work that does no inference (mapping and parsing a model, decoding a file) on a
/// Dispatch thread, so neither the manager actor nor Swift's cooperative pool is held while it runs.
/// Inference goes to `InferenceThreads` instead.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        let job = OneShot(body)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                // Released before the caller resumes (see `OneShot`).
                let result = job.take()()
                continuation.resume(returning: result)
            }
        }
    }
}
