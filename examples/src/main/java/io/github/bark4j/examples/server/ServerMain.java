package io.github.bark4j.examples.server;

import io.github.bark4j.Synthesizer;
import io.github.bark4j.examples.SynthesizerOptions;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code java -jar bark4j-server.jar --model-dir DIR}: the speech server's command line. */
@Command(name = "bark4j-server", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Serves Bark text-to-speech over HTTP: OpenAI's POST /v1/audio/speech (streamed, batched), "
                + "a web page at /, /healthcheck, /v1/models, /v1/voices (and voice cloning with POST /v1/voices) "
                + "and /metrics.")
public final class ServerMain implements Callable<Integer> {

    @Mixin
    SynthesizerOptions model;

    @Option(names = "--voices", paramLabel = "DIR", description = "extra voice presets: the .npz files in DIR;"
            + " voices cloned by POST /v1/voices are saved there (without it they live in memory only)")
    Path voicesDir;

    @Option(names = "--max-upload-mb", defaultValue = "32", paramLabel = "MB",
            description = "largest voice-cloning upload (default ${DEFAULT-VALUE})")
    int maxUploadMb;

    @Option(names = "--max-upload-seconds", defaultValue = "120", paramLabel = "S",
            description = "longest voice-cloning recording; cloning uses its last 30 s (default ${DEFAULT-VALUE})")
    double maxUploadSeconds;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "port (default ${DEFAULT-VALUE}; 0 picks a free one)")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", description = "most requests per batch (default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--batch-window-ms", defaultValue = "25",
            description = "how long the first request waits for others to join its batch (default ${DEFAULT-VALUE})")
    long batchWindowMs;

    @Option(names = "--max-queue", defaultValue = "64",
            description = "requests that may wait; more get 429 (default ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--max-input-chars", defaultValue = "4096", description = "longest input (default ${DEFAULT-VALUE})")
    int maxInputChars;

    @Option(names = "--max-seconds", paramLabel = "S", description = "cap on each segment's length in seconds")
    Double maxSeconds;

    @Option(names = "--segment-tokens", paramLabel = "N",
            description = "most text tokens per long-form segment (default: the library's, 48)")
    int segmentTokens;

    @Option(names = "--shutdown-seconds", defaultValue = "20",
            description = "on SIGTERM, how long running work may take before it is cancelled (default ${DEFAULT-VALUE})")
    long shutdownSeconds;

    @Option(names = "--verbose", description = "log every message (default: server events, warnings, errors)")
    boolean verbose;

    public static void main(String[] args) {
        int code = new CommandLine(new ServerMain()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true"); // libtorch comes from the classpath jar
        }
        configureLogging(verbose);
        if (model.problem() != null) {
            throw new CommandLine.ParameterException(new CommandLine(this), model.problem());
        }
        if (voicesDir != null && !Files.isDirectory(voicesDir)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--voices " + voicesDir + " is not a folder");
        }
        String modelId = model.modelName();
        ServerSettings settings;
        try {
            if (maxUploadMb < 1 || maxUploadMb > Synthesizer.MAX_CLONE_STREAM_BYTES >> 20) {
                throw new IllegalArgumentException("--max-upload-mb must be 1 to "
                        + (Synthesizer.MAX_CLONE_STREAM_BYTES >> 20));
            }
            ServerSettings.Cloning cloning = new ServerSettings.Cloning(maxUploadMb << 20, maxUploadSeconds,
                    ServerSettings.Cloning.defaults().maxWaiting(), () -> { });
            settings = new ServerSettings(host, port, modelId, voicesDir, maxBatch, batchWindowMs, maxQueue,
                    maxInputChars, 64 * 1024, maxSeconds == null ? Double.POSITIVE_INFINITY : maxSeconds, segmentTokens,
                    Duration.ofSeconds(shutdownSeconds), io.github.bark4j.ProgressListener.NONE, cloning);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
        }
        Synthesizer.Builder builder = model.applyCloning(model.builder(null));
        SpeechServer server = SpeechServer.start(settings, builder::build);
        Thread hook = new Thread(server::close, "bark4j-server-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.printf(Locale.ROOT, "bark4j-server listening on http://%s:%d/ (loading %s)%n", host, server.port(),
                modelId);
        System.out.flush();
        if (!server.awaitReady(Duration.ofDays(365))) {
            System.err.println("bark4j-server: " + server.failure());
            return 1; // the hook stops the listener on exit
        }
        System.out.println("bark4j-server ready");
        System.out.flush();
        Thread.currentThread().join(); // serve until SIGTERM / SIGINT
        return 0;
    }

    private static void configureLogging(boolean verbose) {
        String prefix = "org.slf4j.simpleLogger.";
        setIfUnset(prefix + "logFile", "System.err");
        setIfUnset(prefix + "defaultLogLevel", verbose ? "info" : "warn");
        setIfUnset(prefix + "log.io.github.bark4j.examples.server", "info");
        if (!verbose) {
            setIfUnset(prefix + "log.ai.djl.util.cuda.CudaUtils", "error");
        }
    }

    private static void setIfUnset(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
