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
 * @param cloning the limits of voice cloning uploads ({@code POST /v1/voices})
 */
record ServerSettings(String host, int port, String modelId, Path voicesDir, int maxBatch, long batchWindowMillis,
        int maxQueue, int maxInputChars, int maxBodyBytes, double maxSeconds, int segmentTokens, Duration shutdownGrace,
        ProgressListener progressHook, Cloning cloning) {

    /**
     * The limits of voice cloning.
     *
     * @param maxUploadBytes the largest upload body (a WAV, or a multipart form holding one)
     * @param maxUploadSeconds the longest recording accepted (the library clones from its last 30 s)
     * @param maxWaiting uploads that may wait while one clones; more get 429
     * @param hook runs on the cloning thread before each clone (tests use it to hold a clone)
     */
    record Cloning(int maxUploadBytes, double maxUploadSeconds, int maxWaiting, Runnable hook) {
        static final int DEFAULT_MAX_UPLOAD_MB = 32;
        static final double DEFAULT_MAX_UPLOAD_SECONDS = 120;

        Cloning {
            if (maxUploadBytes < 1024 || maxUploadBytes > io.github.bark4j.Synthesizer.MAX_CLONE_STREAM_BYTES) {
                throw new IllegalArgumentException("the upload limit must be 1 KB to "
                        + (io.github.bark4j.Synthesizer.MAX_CLONE_STREAM_BYTES >> 20) + " MB (the library's limit)");
            }
            if (!(maxUploadSeconds >= 1) || maxWaiting < 0) {
                throw new IllegalArgumentException("the upload seconds limit must be at least 1 and the waiting"
                        + " clones not negative");
            }
        }

        static Cloning defaults() {
            return new Cloning(DEFAULT_MAX_UPLOAD_MB << 20, DEFAULT_MAX_UPLOAD_SECONDS, 4, () -> {});
        }

        Cloning withHook(Runnable h) {
            return new Cloning(maxUploadBytes, maxUploadSeconds, maxWaiting, h);
        }
    }

    ServerSettings {
        if (maxBatch < 1 || maxQueue < 1 || batchWindowMillis < 0 || maxInputChars < 1 || maxBodyBytes < 1) {
            throw new IllegalArgumentException("batch, queue and size limits must be positive");
        }
        if (!(maxSeconds > 0) || segmentTokens < 0 || segmentTokens > 256) {
            throw new IllegalArgumentException("max seconds must be positive and segment tokens in 1..256");
        }
        java.util.Objects.requireNonNull(cloning, "cloning");
    }

    static ServerSettings defaults(String modelId) {
        return new ServerSettings("127.0.0.1", 8000, modelId, null, 8, 25, 64, 4096, 64 * 1024,
                Double.POSITIVE_INFINITY, 0, Duration.ofSeconds(20), ProgressListener.NONE, Cloning.defaults());
    }

    ServerSettings withPort(int p) {
        return new ServerSettings(host, p, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook, cloning);
    }

    ServerSettings withVoices(Path dir) {
        return new ServerSettings(host, port, modelId, dir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook, cloning);
    }

    ServerSettings withBatching(int batch, long windowMillis, int queue) {
        return new ServerSettings(host, port, modelId, voicesDir, batch, windowMillis, queue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook, cloning);
    }

    ServerSettings withMaxSeconds(double seconds) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, seconds, segmentTokens, shutdownGrace, progressHook, cloning);
    }

    ServerSettings withSegmentTokens(int tokens) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, tokens, shutdownGrace, progressHook, cloning);
    }

    ServerSettings withProgressHook(ProgressListener hook) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, hook, cloning);
    }

    ServerSettings withCloning(Cloning c) {
        return new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMillis, maxQueue, maxInputChars,
                maxBodyBytes, maxSeconds, segmentTokens, shutdownGrace, progressHook, c);
    }
}
