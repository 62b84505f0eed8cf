package io.github.bark4j;

import io.github.bark4j.ModelDownloadException.Reason;
import io.github.bark4j.internal.hub.FileDownloader;
import io.github.bark4j.internal.hub.HubOptions;
import io.github.bark4j.internal.hub.ModelManifest;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Resolves a Bark model id such as {@code suno/bark-small} to a local folder in the Hugging Face
 * layout, downloading missing files from the Hub at the revision pinned in the bundled models
 * manifest and verifying their size and SHA-256.
 *
 * <p>{@link #resolve} fetches the weights, config, tokenizer and {@code speaker_embeddings_path.json};
 * voice presets are fetched one at a time by {@link #resolveFile}. Files are cached under
 * {@code <cache>/<owner>/<name>/<revision>/<path>}; see {@link Builder} for the cache folder,
 * endpoint and offline settings. Instances are thread-safe, and several threads or processes may
 * resolve the same files at once: each file is downloaded once.
 */
public final class ModelHub {
    /** Hidden folder inside a revision folder with trust records, partial downloads and lock files. */
    static final String META_DIR = ".bark4j";

    private final HubOptions options;
    private final ModelManifest manifest;
    private final FileDownloader downloader;

    ModelHub(HubOptions options, ModelManifest manifest) {
        this.options = Objects.requireNonNull(options, "options");
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.downloader = new FileDownloader(options);
    }

    /** A hub with every setting taken from system properties, environment and defaults. */
    public static ModelHub create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The model ids of the bundled manifest: the Bark models ({@code suno/bark-small},
     * {@code suno/bark}) and the models voice cloning uses.
     */
    public static Set<String> knownModels() {
        return ModelManifest.bundled().models().keySet();
    }

    /** The bundled manifest's models of one kind, in manifest order. */
    static List<String> knownModels(ModelManifest.Kind kind) {
        return ModelManifest.bundled().models().values().stream().filter(m -> m.kind() == kind)
                .map(ModelManifest.Model::id).toList();
    }

    /**
     * Returns the local folder of a model, downloading its weights, config, tokenizer and
     * {@code speaker_embeddings_path.json} if they are not cached yet. Voice presets are not fetched.
     *
     * @throws ModelDownloadException if the model is unknown, a file cannot be downloaded or verified,
     *     or offline mode is on and a file is missing
     */
    public Path resolve(String modelId) {
        ModelManifest.Model model = model(modelId);
        for (ModelManifest.FileEntry f : model.eagerFiles()) {
            downloader.fetch(spec(model, f));
        }
        return modelDir(model);
    }

    /**
     * Returns one file of a model, downloading it if needed, e.g.
     * {@code speaker_embeddings/v2/en_speaker_6_semantic_prompt.npy}. Files listed in the manifest are
     * verified against it; other {@code speaker_embeddings/**.npy} presets are accepted and trusted on
     * first use.
     *
     * @param relativePath a '/'-separated path inside the model repository
     * @throws ModelDownloadException as for {@link #resolve}, or {@code UNKNOWN_FILE}
     */
    public Path resolveFile(String modelId, String relativePath) {
        ModelManifest.Model model = model(modelId);
        ModelManifest.FileEntry entry = model.file(relativePath).orElseGet(() -> unlisted(model, relativePath));
        return downloader.fetch(spec(model, entry));
    }

    /** The cache folder in use. */
    public Path cacheDir() {
        return options.cacheDir();
    }

    /** Whether this hub never touches the network. */
    public boolean isOffline() {
        return options.offline();
    }

    /** The Hub base URL in use, without a trailing slash. */
    public String endpoint() {
        return options.endpoint();
    }

    HubOptions options() {
        return options;
    }

    ModelManifest manifest() {
        return manifest;
    }

    /**
     * The single file a model is made of, downloaded if needed: the eager file of a voice-cloning
     * quantizer model (its other files are fetched only by name).
     */
    Path resolveSingleFile(String modelId) {
        ModelManifest.Model model = model(modelId);
        List<ModelManifest.FileEntry> eager = model.eagerFiles();
        if (eager.size() != 1) {
            throw new ModelDownloadException(Reason.INVALID_MANIFEST, null, null, "Model '" + modelId + "' has "
                    + eager.size() + " files fetched eagerly; a single-file model needs exactly one");
        }
        return downloader.fetch(spec(model, eager.get(0)));
    }

    /** What a model of the manifest is (Bark, or one of voice cloning's models). */
    ModelManifest.Kind kind(String modelId) {
        return model(modelId).kind();
    }

    private ModelManifest.Model model(String modelId) {
        Objects.requireNonNull(modelId, "modelId");
        return manifest.model(modelId).orElseThrow(() -> new ModelDownloadException(Reason.UNKNOWN_MODEL, null, null,
                "Unknown model '" + modelId + "'; known models: " + String.join(", ", manifest.models().keySet())
                        + ". To use another Bark checkpoint, download it yourself and load it from its folder."));
    }

    private static ModelManifest.FileEntry unlisted(ModelManifest.Model model, String path) {
        if (path != null && path.startsWith("speaker_embeddings/") && path.endsWith(".npy")
                && ModelManifest.isSafeRelativePath(path)) {
            return new ModelManifest.FileEntry(path, null, null, true,
                    "voice preset not listed in the bark4j models manifest");
        }
        throw new ModelDownloadException(Reason.UNKNOWN_FILE, model.id() + "/" + path, null,
                "File '" + path + "' is not part of model " + model.id() + " in the bark4j models manifest; only "
                        + "listed files and speaker_embeddings/**.npy voice presets can be fetched.");
    }

    /** {@code <cache>/<owner>/<name>/<revision>}. */
    Path modelDir(ModelManifest.Model model) {
        String[] repo = model.repo().split("/", 2);
        return options.cacheDir().resolve(repo[0]).resolve(repo[1]).resolve(encode(model.revision(), false));
    }

    FileDownloader.Spec spec(ModelManifest.Model model, ModelManifest.FileEntry f) {
        Path dir = modelDir(model);
        Path target = dir.resolve(f.path());
        int slash = f.path().lastIndexOf('/');
        Path meta = dir.resolve(META_DIR);
        if (slash >= 0) {
            meta = meta.resolve(f.path().substring(0, slash));
        }
        return new FileDownloader.Spec(model.id() + "/" + f.path(), url(model, f.path()), target, meta, f.size(),
                f.sha256(), f.unpinned());
    }

    /** {@code {endpoint}/{repo}/resolve/{revision}/{path}} with the revision fully encoded, '/' kept in the path. */
    URI url(ModelManifest.Model model, String path) {
        String u = manifest.urlPattern()
                .replace("{endpoint}", options.endpoint())
                .replace("{repo}", encode(model.repo(), true))
                .replace("{revision}", encode(model.revision(), false))
                .replace("{path}", encode(path, true));
        return URI.create(u);
    }

    /** Percent-encodes UTF-8 bytes outside RFC 3986 unreserved characters (and '/' when kept). */
    static String encode(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~' || keepSlash && c == '/') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    /**
     * Settings of a {@link ModelHub}. Anything left unset falls back to system properties, then
     * environment variables, then defaults:
     *
     * <ul>
     *   <li>cache folder: {@code -Dbark4j.cache.dir}, {@code BARK4J_CACHE_DIR},
     *       {@code $XDG_CACHE_HOME/bark4j}, {@code ~/.cache/bark4j};
     *   <li>endpoint: {@code -Dbark4j.hub.endpoint}, {@code BARK4J_HUB_ENDPOINT}, {@code HF_ENDPOINT},
     *       {@code https://huggingface.co};
     *   <li>offline: on when any of {@code -Dbark4j.offline=true}, {@code BARK4J_OFFLINE=true},
     *       {@code HF_HUB_OFFLINE=1}; an explicit {@link #offline(boolean)} overrides them. DJL's
     *       {@code ai.djl.offline} only stops DJL's native-library downloads; when this hub is offline
     *       and DJL's switch is unset, it is set too, so that nothing touches the network;
     *   <li>manifest: the one in the jar, or the file named by {@code -Dbark4j.manifest} or
     *       {@code BARK4J_MANIFEST} (a mirror's revisions, a private checkpoint, tests).
     * </ul>
     */
    public static final class Builder {
        private Path cacheDir;
        private String endpoint;
        private Boolean offline;
        private DownloadListener listener;
        private int maxAttempts = HubOptions.DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = HubOptions.DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = HubOptions.DEFAULT_MAX_BACKOFF;
        private Duration connectTimeout = HubOptions.DEFAULT_CONNECT_TIMEOUT;
        private Duration readTimeout = HubOptions.DEFAULT_READ_TIMEOUT;
        private ModelManifest manifest;

        private Builder() {}

        /** Where downloaded models are kept. */
        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir");
            return this;
        }

        /** The Hub base URL, e.g. a mirror; {@code https://huggingface.co} by default. */
        public Builder endpoint(String endpoint) {
            this.endpoint = HubOptions.normalizeEndpoint(endpoint);
            return this;
        }

        /** When true, never use the network; a file missing from the cache is an error naming it. */
        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        /** The explicit offline setting, or null when it follows the properties and environment. */
        Boolean offlineSetting() {
            return offline;
        }

        /** Receives download progress; none by default. */
        public Builder listener(DownloadListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Attempts per file (1 = no retry) and the exponential backoff between them. */
        Builder retries(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
            this.maxAttempts = maxAttempts;
            this.initialBackoff = initialBackoff;
            this.maxBackoff = maxBackoff;
            return this;
        }

        /** Connect timeout, and the longest wait for response headers or for the next body bytes. */
        Builder timeouts(Duration connectTimeout, Duration readTimeout) {
            this.connectTimeout = connectTimeout;
            this.readTimeout = readTimeout;
            return this;
        }

        Builder manifest(ModelManifest manifest) {
            this.manifest = manifest;
            return this;
        }

        /**
         * @throws IllegalArgumentException if a setting is invalid
         * @throws ModelDownloadException if the bundled manifest is broken
         */
        public ModelHub build() {
            HubOptions options = HubOptions.resolve(cacheDir, endpoint, offline, listener, maxAttempts, initialBackoff,
                    maxBackoff, connectTimeout, readTimeout, System::getProperty, System::getenv);
            if (options.offline()) {
                HubOptions.extendOfflineToDjl(System::getenv);
            }
            ModelManifest m = manifest;
            if (m == null) {
                Path file = HubOptions.manifestOverride(System::getProperty, System::getenv);
                m = file != null ? ModelManifest.load(file) : ModelManifest.bundled();
            }
            return new ModelHub(options, m);
        }
    }
}
