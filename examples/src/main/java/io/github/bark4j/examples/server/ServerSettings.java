package io.github.bark4j.examples.server;

import io.github.bark4j.ProgressListener;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How the server listens, batches and limits requests.
 *
 * @param modelId the id under which {@code /v1/models} lists the model
 * @param voicesDir extra {@code .npz} presets, or null
 * @param maxSeconds cap on each segment's length in seconds (infinity: the model's own limit)
 * @param segmentTokens the most text tokens per long-form segment (0: the library's default)
 * @param progressHook told of every generation step on the generating thread (tests use it)
 */
record ServerSettings(String host, int port, String modelId, Path voicesDir, int maxBatch, long batchWindowMillis,
        int maxQueue, int maxInputChars, int maxBodyBytes, double maxSeconds, int segmentTokens, Duration shutdownGrace,
        ProgressListener progressHook) {

    ServerSettings {
        if (maxBatch < 1 || maxQueue < 1 || batchWindowMillis < 0 || maxInputChars < 1 || maxBodyBytes < 1) {
            throw new IllegalArgumentException("batch, queue and size limits must be positive");
        }
        if (!(maxSeconds > 0) || segmentTokens < 0 || segmentTokens > 256) {
            throw new IllegalArgumentException("max seconds must be positive and segment tokens in 1..256");
        }
    }

    static ServerSettings defaults(String modelId) {
        return new ServerSettings("127.0.0.1", 8000, modelId, null, 8, 25, 64, 4096, 64 * 1024,
                Double.POSITIVE_INFINITY, 0, Duration.ofSeconds(20), ProgressListener.NONE);
    }

    ServerSettings withPort(int p) {
        return new ServerSettings(host, p, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook);
    }

    ServerSettings withVoices(Path dir) {
        return new ServerSettings(host, port, modelId, dir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook);
    }

    ServerSettings withBatching(int batch, long windowMillis, int queue) {
        return new ServerSettings(host, port, modelId, voicesDir, batch, windowMillis, queue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook);
    }

    ServerSettings withMaxSeconds(double seconds) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, seconds, segmentTokens, shutdownGrace, progressHook);
    }

    ServerSettings withSegmentTokens(int tokens) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, tokens, shutdownGrace, progressHook);
    }

    ServerSettings withProgressHook(ProgressListener hook) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, hook);
    }
}
