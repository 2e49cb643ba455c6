import EarshotRuntime
import Prometheus
import Synchronization

/// The server's Prometheus metrics. Request-path metrics (latency, TTFT, rejections, switches) are
/// recorded as they happen; process and model figures (RSS, mapped bytes, loads) are read when
/// `/metrics` is scraped, from `MemoryReport` and the model manager.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    private let requestDuration: DurationHistogram
    private let timeToFirstToken: DurationHistogram
    private let transcriptions: Counter
    private let audioSeconds: Counter
    private let switches: Counter
    private let rss, rssAnon, rssFile, openFDs, mappedTotal, queueDepth, inFlight, openConnections: Gauge
    private let loads, failedLoads, unloads, evictions: Counter
    /// The manager's counters as last exported, to turn its totals into counter increments.
    private let exported = Mutex(LifecycleCounters())
    /// The model the previous transcription used, to count switches between models.
    private let lastModel = Mutex<String?>(nil)

    init() {
        let latencyBuckets: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                          .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
                                          .seconds(60), .seconds(120), .seconds(300)]
        requestDuration = registry.makeDurationHistogram(descriptor: metric("earshot_request_duration_seconds", "Wall time of transcription requests, upload to last byte of the answer"), buckets: latencyBuckets)
        timeToFirstToken = registry.makeDurationHistogram(descriptor: metric("earshot_time_to_first_token_seconds", "Audio decoded to first transcript token (encode + prefill), per transcription"), buckets: latencyBuckets)
        transcriptions = registry.makeCounter(descriptor: metric("earshot_transcriptions_total", "Completed transcriptions"))
        audioSeconds = registry.makeCounter(descriptor: metric("earshot_audio_seconds_total", "Seconds of audio transcribed"))
        switches = registry.makeCounter(descriptor: metric("earshot_model_switches_total", "Transcriptions whose model differs from the previous transcription's"))
        rss = registry.makeGauge(descriptor: metric("earshot_rss_bytes", "Resident set size of the process"))
        rssAnon = registry.makeGauge(descriptor: metric("earshot_rss_anon_bytes", "Anonymous resident memory (heap, mapped scratch)"))
        rssFile = registry.makeGauge(descriptor: metric("earshot_rss_file_bytes", "File-backed resident memory (mapped weights)"))
        openFDs = registry.makeGauge(descriptor: metric("earshot_open_file_descriptors", "Open file descriptors"))
        mappedTotal = registry.makeGauge(descriptor: metric("earshot_mapped_bytes", "Bytes mapped by Earshot's buffer owner"))
        queueDepth = registry.makeGauge(descriptor: metric("earshot_queue_depth", "Transcription requests waiting for a slot"))
        inFlight = registry.makeGauge(descriptor: metric("earshot_requests_in_flight", "Transcriptions running"))
        openConnections = registry.makeGauge(descriptor: metric("earshot_connections_open", "Client connections open now"))
        loads = registry.makeCounter(descriptor: metric("earshot_model_loads_total", "Completed model loads"))
        failedLoads = registry.makeCounter(descriptor: metric("earshot_model_failed_loads_total", "Model loads that failed"))
        unloads = registry.makeCounter(descriptor: metric("earshot_model_unloads_total", "Completed model unloads"))
        evictions = registry.makeCounter(descriptor: metric("earshot_model_evictions_total", "Unloads made to fit another model in the budget"))
    }

    func recordTranscription(duration: Duration, ttftMs: Double, audioSeconds seconds: Double) {
        requestDuration.record(duration)
        timeToFirstToken.record(.microseconds(Int64(ttftMs * 1000)))
        transcriptions.increment()
        audioSeconds.increment(by: seconds)
    }

    /// Counts a switch when `model` is not the model of the previous transcription.
    func noteModelUsed(_ model: String) {
        let switched = lastModel.withLock { last in
            defer { last = model }
            return last != nil && last != model
        }
        if switched { switches.increment() }
    }

    /// A connection refused at open (too many from its address or in total).
    func recordConnectionRefused(_ refusal: ConnectionRegistry.Refusal) {
        registry.makeCounter(descriptor: metric("earshot_connections_refused_total", "Connections refused at open, by reason (per_ip, total)"), labels: [("reason", refusal.rawValue)]).increment()
    }

    /// A connection closed because its client was too slow or idle (`phase`: idle, header, body).
    func recordConnectionTimeout(_ phase: String) {
        registry.makeCounter(descriptor: metric("earshot_connection_timeouts_total", "Connections closed for a slow or idle client, by phase (idle, header, body)"), labels: [("phase", phase)]).increment()
    }

    func recordRejection(_ error: APIError) {
        registry.makeCounter(descriptor: metric("earshot_rejections_total", "Requests answered with an error, by reason"), labels: [("reason", error.code)]).increment()
    }

    /// Refreshes the scrape-time figures and renders the exposition text.
    func render(memory: MemoryReport, models: [ModelStatus], counters: LifecycleCounters,
                queueDepth depth: Int, running: Int, connections: ConnectionRegistry) -> String {
        openConnections.set(to: Double(connections.open))
        rss.set(to: Double(memory.rssBytes))
        rssAnon.set(to: Double(memory.rssAnonBytes))
        rssFile.set(to: Double(memory.rssFileBytes))
        openFDs.set(to: Double(memory.openFileDescriptors))
        mappedTotal.set(to: Double(memory.mappedAnonymousBytes + memory.mappedFileBytes))
        queueDepth.set(to: Double(depth))
        inFlight.set(to: Double(running))
        for m in models {
            registry.makeGauge(descriptor: metric("earshot_model_mapped_bytes", "Bytes mapped for a model's weights and sessions"), labels: [("model", m.name)]).set(to: Double(m.mappedBytes))
            registry.makeGauge(descriptor: metric("earshot_model_loaded", "1 when the model is ready, else 0"), labels: [("model", m.name)]).set(to: m.state == .ready ? 1 : 0)
        }
        let delta = exported.withLock { last -> LifecycleCounters in
            var d = LifecycleCounters()
            d.loads = counters.loads - last.loads
            d.failedLoads = counters.failedLoads - last.failedLoads
            d.unloads = counters.unloads - last.unloads
            d.evictions = counters.evictions - last.evictions
            last = counters
            return d
        }
        loads.increment(by: Int64(max(0, delta.loads)))
        failedLoads.increment(by: Int64(max(0, delta.failedLoads)))
        unloads.increment(by: Int64(max(0, delta.unloads)))
        evictions.increment(by: Int64(max(0, delta.evictions)))
        return registry.emitToString()
    }
}

/// A metric named in full (`earshot_...`, unit included) with its help text.
private func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}
