package io.github.bark4j.examples.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.function.IntSupplier;

/**
 * The server's Prometheus metrics (Micrometer): requests by status, queue depth, batches, audio, speed,
 * voice clones.
 */
final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DistributionSummary batchSize;
    private final Counter audioSeconds;
    private final Counter generationSeconds;
    private final DistributionSummary realTimeFactor;
    private final Counter cancelled;
    private final Counter voicesCloned;
    private final Timer cloneTime;

    ServerMetrics(IntSupplier queueDepth) {
        Gauge.builder("bark4j.queue.depth", queueDepth::getAsInt).description("requests waiting for a batch")
                .register(registry);
        batchSize = DistributionSummary.builder("bark4j.batch.size").description("requests per batch run")
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32).register(registry);
        audioSeconds = Counter.builder("bark4j.audio.generated").baseUnit("seconds")
                .description("seconds of audio generated").register(registry);
        generationSeconds = Counter.builder("bark4j.generation.time").baseUnit("seconds")
                .description("wall time spent running batches").register(registry);
        realTimeFactor = DistributionSummary.builder("bark4j.real.time.factor")
                .description("wall time per second of audio, per batch (below 1 is faster than real time)")
                .register(registry);
        cancelled = Counter.builder("bark4j.requests.cancelled")
                .description("requests whose client left before the answer was complete")
                .register(registry);
        voicesCloned = Counter.builder("bark4j.voices.cloned").description("voices cloned from uploaded recordings")
                .register(registry);
        cloneTime = Timer.builder("bark4j.voice.clone").description("wall time of each successful voice clone")
                .register(registry);
    }

    void request(String route, int status) {
        Counter.builder("bark4j.http.requests").description("HTTP requests by route and status")
                .tag("route", route).tag("status", Integer.toString(status)).register(registry).increment();
    }

    /** A batch starts running (counted before any of its answers goes out). */
    void batchStarted(int size) {
        batchSize.record(size);
    }

    /** A batch finished: its wall time and the seconds of audio it made. */
    void batchFinished(double wallSeconds, double audio) {
        generationSeconds.increment(wallSeconds);
        audioSeconds.increment(audio);
        if (audio > 0) {
            realTimeFactor.record(wallSeconds / audio);
        }
    }

    void cancelled() {
        cancelled.increment();
    }

    /** A voice was cloned in {@code seconds}. */
    void voiceCloned(double seconds) {
        voicesCloned.increment();
        cloneTime.record(java.time.Duration.ofNanos((long) (seconds * 1e9)));
    }

    /** Batches run so far (for tests and logs). */
    long batches() {
        return batchSize.count();
    }

    String scrape() {
        return registry.scrape();
    }
}
