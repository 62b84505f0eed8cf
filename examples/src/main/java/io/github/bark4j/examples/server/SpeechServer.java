package io.github.bark4j.examples.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;

import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The speech server: OpenAI's {@code POST /v1/audio/speech} (streamed, batched), {@code /v1/models},
 * {@code /v1/voices} (listed, cloned from uploads, downloaded as {@code .npz}, deleted),
 * {@code /healthcheck}, {@code /metrics} and a web page at {@code /}, on Javalin. It listens at once
 * and loads the model in the background; until then speech and health answer 503. Every error, also
 * those Jetty answers before routing, is OpenAI-shaped JSON.
 */
public final class SpeechServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpeechServer.class);
    private static final Set<String> ROUTES = Set.of("/", "/healthcheck", "/metrics", "/v1/models", "/v1/voices",
            "/v1/audio/speech");
    /** OpenAI's model names, accepted so that clients written for OpenAI work unchanged. */
    private static final List<String> OPENAI_MODELS = List.of("tts-1", "tts-1-hd", "gpt-4o-mini-tts");

    private enum State { LOADING, READY, FAILED, STOPPING }

    private final ServerSettings settings;
    private final ServerMetrics metrics;
    private final Javalin app;
    private final CountDownLatch loaded = new CountDownLatch(1);
    private final AtomicInteger activeResponses = new AtomicInteger();
    private volatile State state = State.LOADING;
    private volatile String failure;
    private volatile Synthesizer synth;
    private volatile BatchScheduler scheduler;
    private volatile VoiceCatalog voices;
    /** Null when the synthesizer cannot clone voices. */
    private volatile CloneQueue clones;
    private volatile SpeechRequest.Limits limits;

    private SpeechServer(ServerSettings settings) {
        this.settings = settings;
        this.metrics = new ServerMetrics(() -> scheduler == null ? 0 : scheduler.queueDepth());
        this.app = Javalin.create(cfg -> {
            cfg.jetty.host = settings.host();
            cfg.jetty.port = settings.port();
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.compressionStrategy = CompressionStrategy.NONE;
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
            cfg.routes.get("/", this::page);
            cfg.routes.get("/healthcheck", this::health);
            cfg.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(metrics.scrape()));
            cfg.routes.get("/v1/models", this::models);
            cfg.routes.get("/v1/voices", this::voiceList);
            cfg.routes.post("/v1/voices", this::cloneVoice);
            cfg.routes.get("/v1/voices/<name>", this::voiceFile);
            cfg.routes.delete("/v1/voices/<name>", this::deleteVoice);
            cfg.routes.post("/v1/audio/speech", this::speech);
            cfg.routes.exception(ApiError.class, (e, ctx) -> answer(ctx, e));
            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> answer(ctx, e.getStatus() == 413
                    ? ApiError.tooLarge("The request body is too large.")
                    : e.getStatus() == 404 ? ApiError.notFound("Not found: " + ctx.method() + " " + ctx.path())
                    : ApiError.badRequest(e.getMessage(), null, null)));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
                answer(ctx, ApiError.internal("The server failed to handle this request."));
            });
            cfg.routes.error(404, ctx -> {
                if (!ctx.res().isCommitted() && !isJson(ctx)) {
                    answer(ctx, ApiError.notFound("Unknown route: " + ctx.method() + " " + ctx.path()
                            + ". See POST /v1/audio/speech, GET /v1/models, GET and POST /v1/voices,"
                            + " GET /healthcheck."));
                }
            });
            cfg.requestLogger.http((ctx, ms) -> metrics.request(ROUTES.contains(ctx.path()) ? ctx.path()
                    : ctx.path().startsWith("/v1/voices/") ? "/v1/voices/{name}" : "other", ctx.res().getStatus()));
        });
    }

    private static boolean isJson(Context ctx) {
        String type = ctx.res().getContentType();
        return type != null && type.startsWith("application/json");
    }

    /**
     * Starts listening now and loads the model on a background thread; {@link #awaitReady} waits for it.
     *
     * @param loader builds the synthesizer (the slow part)
     */
    public static SpeechServer start(ServerSettings settings, Supplier<Synthesizer> loader) {
        SpeechServer server = new SpeechServer(settings);
        server.app.start();
        Thread load = new Thread(() -> server.load(loader), "bark4j-model-loader");
        load.setDaemon(true);
        load.start();
        return server;
    }

    private void load(Supplier<Synthesizer> loader) {
        try {
            Synthesizer s = loader.get();
            synth = s;
            voices = new VoiceCatalog(s.availableVoices(), settings.voicesDir());
            clones = s.canCloneVoices() ? new CloneQueue(s, settings.cloning(), metrics) : null;
            Set<String> ids = new LinkedHashSet<>();
            ids.add(settings.modelId());
            ids.addAll(OPENAI_MODELS);
            limits = new SpeechRequest.Limits(ids, voices, settings.maxInputChars());
            BatchScheduler b = new BatchScheduler(new SynthesizerEngine(s, metrics, settings.progressHook()),
                    settings.maxBatch(), settings.batchWindowMillis(), settings.maxQueue(), metrics);
            b.start();
            scheduler = b;
            synchronized (this) {
                if (state != State.LOADING) {
                    b.shutdown(Duration.ZERO);
                    if (clones != null) {
                        clones.shutdown(Duration.ZERO);
                    }
                    s.close(); // stopped while loading
                    return;
                }
                state = State.READY;
            }
            LOG.info("model {} ready on {} ({}); voice cloning {}", settings.modelId(), s.device(), s.precision(),
                    clones == null ? "off" : voices.persistent() ? "on, saved in " + settings.voicesDir()
                    : "on, cloned voices kept in memory");
        } catch (RuntimeException | Error e) {
            failure = e.getMessage();
            state = State.FAILED;
            LOG.error("model {} failed to load: {}", settings.modelId(), e.getMessage());
        } finally {
            loaded.countDown();
        }
    }

    /** Waits for the model; true when it is ready, false when it failed to load or the wait timed out. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return loaded.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && state == State.READY;
    }

    /** Why the model failed to load, or null. */
    public String failure() {
        return failure;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return app.port();
    }

    long batchesRun() {
        return metrics.batches();
    }

    private void requireReady() {
        switch (state) {
            case READY -> { }
            case LOADING -> throw ApiError.unavailable("The model is still loading; retry shortly.", "model_loading");
            case FAILED -> throw ApiError.unavailable("The model failed to load: " + failure, "model_unavailable");
            case STOPPING -> throw ApiError.unavailable("The server is shutting down.", "shutting_down");
        }
    }

    private static void answer(Context ctx, ApiError e) {
        if (ctx.res().isCommitted()) {
            return; // a streamed answer already started; its connection is cut instead
        }
        ctx.res().reset();
        if (e.retryAfterSeconds() != null) {
            ctx.header("Retry-After", Integer.toString(e.retryAfterSeconds()));
        }
        if (!EarlyAnswer.bodyUnread(ctx)) {
            ctx.status(e.status()).contentType("application/json").result(e.toJson());
            return;
        }
        try {
            EarlyAnswer.send(ctx, e.status(), e.toJson());
        } catch (IOException | RuntimeException failed) {
            LOG.debug("cannot answer {} {}: {}", ctx.method(), ctx.path(), failed.toString());
        }
    }

    private void page(Context ctx) throws IOException {
        try (InputStream in = SpeechServer.class.getResourceAsStream("index.html")) {
            ctx.contentType("text/html; charset=utf-8").result(Objects.requireNonNull(in, "index.html").readAllBytes());
        }
    }

    private void health(Context ctx) {
        requireReady();
        JsonObject o = new JsonObject();
        o.addProperty("status", "ok");
        o.addProperty("model", settings.modelId());
        o.addProperty("device", synth.device());
        o.addProperty("precision", synth.precision().name().toLowerCase(java.util.Locale.ROOT));
        o.addProperty("attention", synth.attention().name().toLowerCase(java.util.Locale.ROOT));
        o.addProperty("native_step", synth.nativeStep());
        o.addProperty("queue_depth", scheduler.queueDepth());
        o.addProperty("running", scheduler.runningJobs());
        o.addProperty("max_batch", settings.maxBatch());
        o.addProperty("max_queue", settings.maxQueue());
        o.addProperty("voice_cloning", clones != null);
        o.addProperty("clones_pending", clones == null ? 0 : clones.pending());
        ctx.contentType("application/json").result(o.toString());
    }

    private void models(Context ctx) {
        requireReady();
        JsonArray data = new JsonArray();
        for (String id : limits.modelIds()) {
            JsonObject m = new JsonObject();
            m.addProperty("id", id);
            m.addProperty("object", "model");
            m.addProperty("created", 0);
            m.addProperty("owned_by", id.equals(settings.modelId()) ? "bark4j" : "bark4j (alias of "
                    + settings.modelId() + ")");
            data.add(m);
        }
        JsonObject o = new JsonObject();
        o.addProperty("object", "list");
        o.add("data", data);
        ctx.contentType("application/json").result(o.toString());
    }

    private void voiceList(Context ctx) {
        requireReady();
        JsonArray names = new JsonArray();
        voices.names().forEach(names::add);
        JsonObject aliases = new JsonObject();
        voices.aliases().forEach(aliases::addProperty);
        JsonArray user = new JsonArray();
        voices.userVoices().forEach(user::add);
        JsonObject cloning = new JsonObject();
        cloning.addProperty("enabled", clones != null);
        cloning.addProperty("persistent", voices.persistent());
        cloning.addProperty("max_upload_bytes", settings.cloning().maxUploadBytes());
        cloning.addProperty("max_upload_seconds", settings.cloning().maxUploadSeconds());
        cloning.addProperty("name_pattern", VoiceCatalog.NAME.pattern());
        JsonObject o = new JsonObject();
        o.add("voices", names);
        o.add("aliases", aliases);
        o.add("user_voices", user);
        o.add("cloning", cloning);
        ctx.contentType("application/json").result(o.toString());
    }

    /**
     * {@code POST /v1/voices}: clones a voice from an uploaded WAV and registers it under its name.
     * A raw body's name ({@code ?name=}) is checked before the body is read; a form's after.
     */
    private void cloneVoice(Context ctx) throws IOException, InterruptedException {
        requireReady();
        CloneQueue queue = clones;
        if (queue == null) {
            throw ApiError.notEnabled("Voice cloning is not enabled on this server: start it with --voice-cloning"
                    + " (the default models, downloaded on first use) or --cloning-hubert DIR --cloning-quantizer"
                    + " FILE.", "voice_cloning_disabled");
        }
        boolean overwrite = flag(ctx, "overwrite");
        boolean multipart = VoiceUpload.isMultipart(ctx);
        if (!multipart) {
            voices.checkNewName(ctx.queryParam("name"), overwrite);
        }
        activeResponses.incrementAndGet();
        try (CloneQueue.Place place = queue.enter()) {
            ServerSettings.Cloning limits = settings.cloning();
            VoiceUpload upload = VoiceUpload.read(ctx, limits.maxUploadBytes());
            if (multipart) {
                voices.checkNewName(upload.name(), overwrite);
            }
            OptionalDouble seconds = WavDuration.seconds(upload.wav());
            if (seconds.isPresent() && seconds.getAsDouble() > limits.maxUploadSeconds()) {
                throw ApiError.badRequest(String.format(Locale.ROOT, "The recording is %.1f s long; this server"
                        + " takes at most %.0f s (--max-upload-seconds), and cloning uses only the last 30 s: trim"
                        + " it, e.g. ffmpeg -sseof -30 -i in.wav out.wav.", seconds.getAsDouble(),
                        limits.maxUploadSeconds()), "file", "audio_too_long");
            }
            VoicePreset preset = queue.clone(upload.wav(), new ClientWatch(ctx.req(), () -> { }));
            if (preset == null) {
                return; // the client went away; nothing is registered
            }
            boolean replaced = voices.add(upload.name(), preset, overwrite);
            JsonObject o = new JsonObject();
            o.addProperty("object", "voice");
            o.addProperty("name", upload.name());
            o.addProperty("replaced", replaced);
            o.addProperty("persistent", voices.persistent());
            o.addProperty("seconds", Math.round(preset.finePrompt()[0].length / 75.0 * 100) / 100.0);
            o.addProperty("download", "/v1/voices/" + upload.name() + ".npz");
            ctx.status(replaced ? 200 : 201).header("Location", "/v1/voices/" + upload.name())
                    .contentType("application/json").result(o.toString());
        } finally {
            activeResponses.decrementAndGet();
        }
    }

    private static boolean flag(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.equals("false") || v.equals("0")) {
            return false;
        }
        if (v.isEmpty() || v.equals("true") || v.equals("1")) {
            return true;
        }
        throw ApiError.badRequest("?" + name + "= must be true or false.", name, "invalid_value");
    }

    /** {@code GET /v1/voices/NAME} (or {@code NAME.npz}): the preset as Bark's {@code .npz}. */
    private void voiceFile(Context ctx) throws IOException {
        requireReady();
        String name = ctx.pathParam("name");
        Optional<VoiceCatalog.Voice> voice = voices.lookup(name);
        if (voice.isEmpty() && name.endsWith(".npz")) {
            voice = voices.lookup(name.substring(0, name.length() - ".npz".length()));
        }
        VoiceCatalog.Voice v = voice.orElseThrow(() -> ApiError.notFound("There is no voice '"
                + VoiceCatalog.shown(name) + "'; GET /v1/voices lists them.", "voice_not_found"));
        VoicePreset preset;
        try {
            preset = v.preset() != null ? v.preset() : synth.voice(v.modelPreset());
        } catch (InvalidVoiceException e) {
            throw ApiError.badRequest("Voice '" + v.name() + "' cannot be used: " + e.getMessage(), "voice",
                    "invalid_voice");
        }
        Path tmp = Files.createTempFile("bark4j-voice-", ".npz");
        try {
            preset.save(tmp);
            byte[] npz = Files.readAllBytes(tmp);
            String base = v.name().substring(v.name().lastIndexOf('/') + 1);
            String file = (VoiceCatalog.NAME.matcher(base).matches() ? base : "voice") + ".npz";
            ctx.contentType("application/octet-stream").header("Content-Disposition", "attachment; filename=\""
                    + file + "\"").result(npz);
        } catch (BarkException e) {
            throw new IOException("cannot write the preset of " + v.name(), e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@code DELETE /v1/voices/NAME}: removes a cloned or folder voice (never a model preset). */
    private void deleteVoice(Context ctx) {
        requireReady();
        String name = ctx.pathParam("name");
        voices.remove(name);
        JsonObject o = new JsonObject();
        o.addProperty("object", "voice");
        o.addProperty("name", name);
        o.addProperty("deleted", true);
        ctx.contentType("application/json").result(o.toString());
    }

    private void speech(Context ctx) throws IOException, InterruptedException {
        requireReady();
        SpeechRequest r = SpeechRequest.parse(readBody(ctx), limits);
        SpeechJob job = newJob(r);
        activeResponses.incrementAndGet();
        try {
            scheduler.submit(job);
            respond(ctx, r, job, new ClientWatch(ctx.req(), job::cancel));
        } finally {
            job.cancel(); // a no-op once it finished; stops its work if this thread leaves early
            activeResponses.decrementAndGet();
        }
    }

    private String readBody(Context ctx) throws IOException {
        long declared = ctx.req().getContentLengthLong();
        if (declared > settings.maxBodyBytes()) {
            throw ApiError.tooLarge("The request body has " + declared + " bytes; at most " + settings.maxBodyBytes()
                    + " are accepted.");
        }
        byte[] body = ctx.req().getInputStream().readNBytes(settings.maxBodyBytes() + 1);
        if (body.length > settings.maxBodyBytes()) {
            throw ApiError.tooLarge("The request body is over " + settings.maxBodyBytes() + " bytes.");
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    private SpeechJob newJob(SpeechRequest r) {
        GenerationOptions.Builder g = GenerationOptions.builder().maxBatch(settings.maxBatch());
        if (r.greedy()) {
            g.greedy();
        }
        if (r.temperature() != null) {
            g.temperature(r.temperature());
        }
        if (r.seed() != null) {
            g.seed(r.seed());
        }
        if (Double.isFinite(settings.maxSeconds())) {
            g.maxSemanticSeconds(settings.maxSeconds());
        }
        if (settings.segmentTokens() > 0) {
            g.maxSegmentTokens(settings.segmentTokens());
        }
        if (r.voice() != null) {
            r.voice().applyTo(g);
        }
        GenerationOptions options = g.build();
        // Jobs with equal keys may share a batch (each row keeps its own seed). Text that may need
        // more than one segment runs alone, so that it is streamed segment by segment. Either way the
        // audio is the same; only the schedule differs.
        Object key = mayNeedSegments(r.input(), options) ? new Object() : List.of(r.greedy(),
                r.temperature() == null ? "default" : r.temperature(), r.voice() == null ? "" : r.voice().name());
        return new SpeechJob(r.input(), options, key);
    }

    /**
     * Whether text may be spoken in more than one long-form segment: a cheap bound without the
     * tokenizer (Bark's tokenizer makes about one token per 3-5 characters of prose).
     */
    private static boolean mayNeedSegments(String text, GenerationOptions options) {
        return text.strip().length() > 3 * options.maxSegmentTokens();
    }

    /**
     * Writes the job's audio as it comes: nothing is committed before the first segment, so an error
     * found before any audio still gets its own status; after that, a failure cuts the connection so
     * the client cannot take a cut stream for a whole one.
     */
    private void respond(Context ctx, SpeechRequest r, SpeechJob job, ClientWatch watch)
            throws IOException, InterruptedException {
        HttpServletResponse res = ctx.res();
        int rate = synth.sampleRate();
        ByteArrayOutputStream buffered = r.stream() ? null : new ByteArrayOutputStream();
        ServletOutputStream out = null;
        while (true) {
            SpeechJob.Event e = job.next(100, TimeUnit.MILLISECONDS);
            if (e == null) {
                if (watch.clientGone()) {
                    job.cancel();
                    metrics.cancelled();
                    return;
                }
                continue;
            }
            if (e instanceof SpeechJob.Failed f) {
                if (out == null) {
                    throw f.error();
                }
                abort(ctx);
                return;
            }
            if (e instanceof SpeechJob.Segment s) {
                byte[] pcm = AudioFormat.pcm16(s.samples());
                if (buffered != null) {
                    buffered.write(pcm);
                    continue;
                }
                try {
                    if (out == null) {
                        res.setStatus(200);
                        res.setContentType(r.format().mediaType());
                        res.setHeader("X-Sample-Rate", Integer.toString(rate));
                        res.setHeader("Cache-Control", "no-store");
                        out = res.getOutputStream();
                        out.write(r.format().header(rate, -1));
                    }
                    out.write(pcm);
                    out.flush();
                } catch (IOException gone) {
                    job.cancel();
                    metrics.cancelled();
                    return;
                }
                continue;
            }
            // Done
            if (buffered != null || out == null) {
                byte[] pcm = buffered == null ? new byte[0] : buffered.toByteArray();
                byte[] head = r.format().header(rate, pcm.length);
                res.setStatus(200);
                res.setContentType(r.format().mediaType());
                res.setHeader("X-Sample-Rate", Integer.toString(rate));
                res.setContentLengthLong(head.length + (long) pcm.length);
                ServletOutputStream o = res.getOutputStream();
                o.write(head);
                o.write(pcm);
            }
            return;
        }
    }

    /** Cuts the connection of a committed response so the client sees an incomplete body. */
    private static void abort(Context ctx) {
        try {
            ServletContextRequest.getServletContextRequest(ctx.req()).getConnectionMetaData().getConnection().close();
        } catch (RuntimeException e) {
            LOG.debug("cannot abort the connection: {}", e.toString());
        }
    }

    /**
     * Stops gracefully: new speech requests get 503, waiting ones 503, the running batch finishes
     * within the grace period (then is cancelled), responses drain, the listener stops, and the
     * synthesizer closes.
     */
    public void stop(Duration grace) {
        synchronized (this) {
            if (state == State.STOPPING) {
                return;
            }
            state = State.STOPPING;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        LOG.info("stopping: {} response(s) in flight", activeResponses.get());
        BatchScheduler b = scheduler;
        if (b != null) {
            b.shutdown(grace);
        }
        CloneQueue c = clones;
        if (c != null) {
            c.shutdown(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        while (activeResponses.get() > 0 && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(2)) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
        Synthesizer s = synth;
        if (s != null) {
            s.close();
        }
        LOG.info("stopped");
    }

    @Override
    public void close() {
        stop(settings.shutdownGrace());
    }

    Map<String, String> voiceAliases() {
        return voices.aliases();
    }
}
