package io.github.bark4j;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tiny Hub stand-in on 127.0.0.1: serves byte arrays by URL path with HTTP Range support, and can
 * be scripted to misbehave (error statuses, cut connections, ignored ranges, stalls, slow bodies)
 * for the next requests of a path. Records every request.
 */
final class FakeHubServer implements AutoCloseable {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    /** One scripted answer. {@code content} is what the path serves normally. */
    interface Behavior {
        void handle(HttpExchange ex, byte[] content) throws IOException;
    }

    record Request(String path, String range) {}

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(8);
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final Map<String, Deque<Behavior>> scripts = new ConcurrentHashMap<>();
    private final List<Request> requests = new ArrayList<>();
    private volatile long slowDelayMs;

    FakeHubServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void serve(String path, byte[] content) {
        files.put(path, content);
    }

    /** The next requests of {@code path} get these answers, in order; later ones are served normally. */
    void script(String path, Behavior... behaviors) {
        scripts.computeIfAbsent(path, p -> new ArrayDeque<>()).addAll(List.of(behaviors));
    }

    /** Every normal body is sent in 64 KiB pieces with this pause between them. */
    void slowDown(long delayMs) {
        this.slowDelayMs = delayMs;
    }

    synchronized List<Request> requests() {
        return List.copyOf(requests);
    }

    synchronized List<Request> requests(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).toList();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String range = ex.getRequestHeaders().getFirst("Range");
            synchronized (this) {
                requests.add(new Request(path, range));
            }
            byte[] content = files.get(path);
            Deque<Behavior> script = scripts.get(path);
            Behavior b = null;
            if (script != null) {
                synchronized (script) {
                    b = script.poll();
                }
            }
            if (b != null) {
                b.handle(ex, content);
            } else if (content == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                serveNormally(ex, content, true, slowDelayMs);
            }
        }
    }

    private static void serveNormally(HttpExchange ex, byte[] content, boolean honourRange, long delayMs)
            throws IOException {
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (honourRange && range != null) {
            Matcher m = RANGE.matcher(range);
            if (m.matches()) {
                start = Long.parseLong(m.group(1));
            }
        }
        if (start >= content.length && start > 0) {
            ex.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
            ex.sendResponseHeaders(416, -1);
            return;
        }
        if (start > 0) {
            ex.getResponseHeaders().set("Content-Range",
                    "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
            ex.sendResponseHeaders(206, content.length - start);
        } else {
            ex.sendResponseHeaders(200, content.length == 0 ? -1 : content.length);
        }
        OutputStream out = ex.getResponseBody();
        int pos = (int) start;
        while (pos < content.length) {
            int n = Math.min(1 << 16, content.length - pos);
            out.write(content, pos, n);
            pos += n;
            if (delayMs > 0) {
                out.flush();
                sleep(delayMs);
            }
        }
    }

    static Behavior status(int code) {
        return (ex, content) -> ex.sendResponseHeaders(code, -1);
    }

    /** Serves the whole file with 200, ignoring any Range header. */
    static Behavior ignoringRange() {
        return (ex, content) -> serveNormally(ex, content, false, 0);
    }

    /** Announces the full length, sends the first {@code bytes} bytes, then drops the connection. */
    static Behavior cutAfter(int bytes) {
        return (ex, content) -> {
            ex.sendResponseHeaders(200, content.length);
            OutputStream out = ex.getResponseBody();
            out.write(content, 0, bytes);
            out.flush();
            sleep(100);
            // Closing with bytes missing makes the server drop the connection.
            throw new IOException("cut on purpose after " + bytes + " bytes");
        };
    }

    /** Sends headers and {@code bytes} bytes, then stays silent for {@code ms} milliseconds. */
    static Behavior stallAfter(int bytes, long ms) {
        return (ex, content) -> {
            ex.sendResponseHeaders(200, content.length);
            OutputStream out = ex.getResponseBody();
            out.write(content, 0, bytes);
            out.flush();
            sleep(ms);
            throw new IOException("stalled on purpose");
        };
    }

    /** Serves other bytes than the file's. */
    static Behavior serving(byte[] other) {
        return (ex, content) -> {
            ex.sendResponseHeaders(200, other.length);
            ex.getResponseBody().write(other);
        };
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A one-model manifest in the {@code models-manifest.json} layout, listing {@code files}. */
    static JsonObject manifest(String repo, String revision, JsonArray files) {
        JsonObject model = new JsonObject();
        model.addProperty("repo", repo);
        model.addProperty("revision", revision);
        model.add("files", files);
        JsonObject models = new JsonObject();
        models.add(repo, model);
        return manifest(models);
    }

    /** A manifest in the {@code models-manifest.json} layout of {@code models} (id to entry). */
    static JsonObject manifest(JsonObject models) {
        JsonObject root = new JsonObject();
        root.addProperty("schemaVersion", 1);
        root.addProperty("urlPattern", "{endpoint}/{repo}/resolve/{revision}/{path}");
        root.add("models", models);
        return root;
    }

    /** A manifest's entry for one file: its path, size and SHA-256. */
    static JsonObject fileEntry(String path, byte[] bytes) {
        JsonObject e = new JsonObject();
        e.addProperty("path", path);
        e.addProperty("size", bytes.length);
        try {
            e.addProperty("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        } catch (NoSuchAlgorithmException impossible) {
            throw new AssertionError(impossible); // every JDK has SHA-256
        }
        return e;
    }
}
