package io.github.bark4j.internal.hub;

import io.github.bark4j.DownloadListener;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Validated settings of a {@code ModelHub}. Unset builder values fall back, in order, to system
 * properties, environment variables and defaults (see {@link #resolve}).
 */
public record HubOptions(
        Path cacheDir,
        String endpoint,
        boolean offline,
        DownloadListener listener,
        int maxAttempts,
        Duration initialBackoff,
        Duration maxBackoff,
        Duration connectTimeout,
        Duration readTimeout) {

    static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    static final String PROP_CACHE_DIR = "bark4j.cache.dir";
    static final String ENV_CACHE_DIR = "BARK4J_CACHE_DIR";
    static final String PROP_ENDPOINT = "bark4j.hub.endpoint";
    static final String ENV_ENDPOINT = "BARK4J_HUB_ENDPOINT";
    static final String ENV_HF_ENDPOINT = "HF_ENDPOINT";
    static final String PROP_OFFLINE = "bark4j.offline";
    static final String ENV_OFFLINE = "BARK4J_OFFLINE";
    static final String ENV_HF_OFFLINE = "HF_HUB_OFFLINE";
    static final String PROP_DJL_OFFLINE = "ai.djl.offline";
    static final String ENV_DJL_OFFLINE = "DJL_OFFLINE";
    static final String PROP_MANIFEST = "bark4j.manifest";
    static final String ENV_MANIFEST = "BARK4J_MANIFEST";

    public static final int DEFAULT_MAX_ATTEMPTS = 5;
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(60);

    public HubOptions {
        Objects.requireNonNull(cacheDir, "cacheDir");
        cacheDir = cacheDir.toAbsolutePath().normalize();
        endpoint = normalizeEndpoint(endpoint);
        listener = listener == null ? DownloadListener.NONE : listener;
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new IllegalArgumentException("maxAttempts must be 1..100, got " + maxAttempts);
        }
        requireNonNegative(initialBackoff, "initialBackoff");
        requireNonNegative(maxBackoff, "maxBackoff");
        requirePositive(connectTimeout, "connectTimeout");
        requirePositive(readTimeout, "readTimeout");
    }

    /**
     * Fills unset values. {@code cacheDir}: value, else {@code -Dbark4j.cache.dir}, else
     * {@code BARK4J_CACHE_DIR}, else {@code $XDG_CACHE_HOME/bark4j}, else {@code ~/.cache/bark4j}.
     * {@code endpoint}: value, else {@code -Dbark4j.hub.endpoint}, else {@code BARK4J_HUB_ENDPOINT},
     * else {@code HF_ENDPOINT}, else {@code https://huggingface.co}. {@code offline}: an explicit value
     * wins; else offline when any of {@code -Dbark4j.offline}, {@code BARK4J_OFFLINE},
     * {@code HF_HUB_OFFLINE} is true/1/yes/on. DJL's {@code ai.djl.offline} is not among them: it
     * keeps DJL from downloading native libraries and says nothing about model files.
     */
    public static HubOptions resolve(Path cacheDir, String endpoint, Boolean offline, DownloadListener listener,
            int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration connectTimeout,
            Duration readTimeout, UnaryOperator<String> props, UnaryOperator<String> env) {
        Path dir = cacheDir != null ? cacheDir : defaultCacheDir(props, env);
        String ep = endpoint != null ? endpoint
                : firstNonBlank(props.apply(PROP_ENDPOINT), env.apply(ENV_ENDPOINT), env.apply(ENV_HF_ENDPOINT),
                        DEFAULT_ENDPOINT);
        boolean off = offline != null ? offline : offlineByDefault(props, env);
        return new HubOptions(dir, ep, off, listener, maxAttempts, initialBackoff, maxBackoff, connectTimeout,
                readTimeout);
    }

    /** Whether the system properties or environment turn bark4j's model downloads off. */
    public static boolean offlineByDefault(UnaryOperator<String> props, UnaryOperator<String> env) {
        return truthy(props.apply(PROP_OFFLINE)) || truthy(env.apply(ENV_OFFLINE)) || truthy(env.apply(ENV_HF_OFFLINE));
    }

    /**
     * bark4j's offline switch covers DJL too: when bark4j is offline and DJL's own switch
     * ({@code -Dai.djl.offline} or {@code DJL_OFFLINE}) is unset, sets {@code ai.djl.offline=true} so
     * that DJL does not download native libraries either. An explicit DJL setting is left alone.
     */
    public static void extendOfflineToDjl(UnaryOperator<String> env) {
        if (System.getProperty(PROP_DJL_OFFLINE) == null && env.apply(ENV_DJL_OFFLINE) == null) {
            System.setProperty(PROP_DJL_OFFLINE, "true");
        }
    }

    /** The manifest file named by {@code -Dbark4j.manifest} or {@code BARK4J_MANIFEST}, or null. */
    public static Path manifestOverride(UnaryOperator<String> props, UnaryOperator<String> env) {
        String p = firstNonBlank(props.apply(PROP_MANIFEST), env.apply(ENV_MANIFEST), null);
        return p == null ? null : Path.of(p);
    }

    static Path defaultCacheDir(UnaryOperator<String> props, UnaryOperator<String> env) {
        String explicit = firstNonBlank(props.apply(PROP_CACHE_DIR), env.apply(ENV_CACHE_DIR), null);
        if (explicit != null) {
            return Path.of(explicit);
        }
        String xdg = env.apply("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "bark4j");
        }
        String home = props.apply("user.home");
        if (home == null || home.isBlank()) {
            throw new IllegalStateException("Cannot find a cache folder: user.home is not set; set -D"
                    + PROP_CACHE_DIR + " or " + ENV_CACHE_DIR);
        }
        return Path.of(home, ".cache", "bark4j");
    }

    static boolean truthy(String v) {
        if (v == null) {
            return false;
        }
        String s = v.trim().toLowerCase(Locale.ROOT);
        return s.equals("true") || s.equals("1") || s.equals("yes") || s.equals("on");
    }

    private static String firstNonBlank(String a, String b, String c) {
        return a != null && !a.isBlank() ? a.trim() : b != null && !b.isBlank() ? b.trim() : c;
    }

    private static String firstNonBlank(String a, String b, String c, String d) {
        String r = firstNonBlank(a, b, c);
        return r != null && !r.isBlank() ? r.trim() : d;
    }

    public static String normalizeEndpoint(String endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        String e = endpoint.trim();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        URI uri;
        try {
            uri = new URI(e);
        } catch (URISyntaxException ex) {
            throw new IllegalArgumentException("Hub endpoint is not a valid URL: " + endpoint, ex);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null
                || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("Hub endpoint must be an http(s) URL with a host and no query, got: "
                    + endpoint);
        }
        return e;
    }

    private static void requireNonNegative(Duration d, String name) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException(name + " must be zero or positive, got " + d);
        }
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }
}
