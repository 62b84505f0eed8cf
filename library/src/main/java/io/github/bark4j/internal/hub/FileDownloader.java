package io.github.bark4j.internal.hub;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.ModelDownloadException;
import io.github.bark4j.ModelDownloadException.Reason;
import io.github.bark4j.internal.io.AtomicFiles;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Brings one file into the cache: resumable HTTP download into a {@code .part} file, size and SHA-256
 * verified while streaming, atomic move into place, a record of the verified hash beside it. A
 * {@code .lock} file (plus an in-JVM lock) makes concurrent downloaders of the same file wait for
 * each other instead of downloading twice.
 *
 * <p>Per file {@code dir/name} the cache holds {@code dir/name} (read-only) and, under
 * {@code <revision folder>/.bark4j/dir/}, {@code name.part}, {@code name.lock} and
 * {@code name.sha256.json} (the trust record).
 */
public final class FileDownloader {
    private static final Logger log = LoggerFactory.getLogger(FileDownloader.class);
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern UNSATISFIED_RANGE = Pattern.compile("bytes\\s+\\*/(\\d+)");
    private static final int BUFFER = 1 << 16;
    private static final long PROGRESS_STEP = 1 << 20;
    static final String TRUST_PINNED = "pinned";
    static final String TRUST_FIRST_USE = "first-use";

    /** Everything known about one file to fetch. {@code size}/{@code sha256} null when not pinned. */
    public record Spec(String display, URI url, Path target, Path metaDir, Long size, String sha256, String unpinned) {
        Path part() {
            return metaDir.resolve(target.getFileName() + ".part");
        }

        Path lock() {
            return metaDir.resolve(target.getFileName() + ".lock");
        }

        public Path record() {
            return metaDir.resolve(target.getFileName() + ".sha256.json");
        }
    }

    /** What the trust record says: the verified hash and size, and whether it was pinned or first seen. */
    record TrustRecord(String sha256, long size, String trust, Long modifiedMillis) {}

    /** A failure worth another attempt (IO error, 5xx, 429, short body). */
    private static final class Retryable extends Exception {
        private static final long serialVersionUID = 1L;
        final Reason reason;

        Retryable(Reason reason, String message, Throwable cause) {
            super(message, cause);
            this.reason = reason;
        }
    }

    private final HubOptions options;
    private final HttpClient client;
    /** Closes response bodies that stay silent longer than the read timeout; shared, one daemon thread. */
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bark4j-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    public FileDownloader(HubOptions options) {
        this.options = options;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(options.connectTimeout())
                .build();
    }

    /** Returns {@code spec.target()} once it holds verified bytes, downloading it if needed. */
    public Path fetch(Spec spec) {
        if (isVerified(spec, readRecord(spec))) {
            return spec.target();
        }
        if (options.offline()) {
            // Never touch the network; do not require a writable cache either.
            if (Files.isRegularFile(spec.target()) && adoptExisting(spec, readRecord(spec), true)) {
                return spec.target();
            }
            throw offlineError(spec);
        }
        return withLock(spec, () -> {
            Optional<TrustRecord> record = readRecord(spec);
            if (isVerified(spec, record)) {
                return spec.target();
            }
            if (Files.isRegularFile(spec.target()) && adoptExisting(spec, record, false)) {
                return spec.target();
            }
            download(spec, record);
            return spec.target();
        });
    }

    private ModelDownloadException offlineError(Spec spec) {
        return new ModelDownloadException(Reason.OFFLINE, spec.display(), spec.url().toString(),
                "Model file " + spec.display() + " is not in the cache and offline mode is on ("
                        + offlineSwitches() + "). Download it from " + spec.url() + " and put it at "
                        + spec.target() + (spec.sha256() != null ? " (expected sha256 " + spec.sha256() + ")" : "")
                        + ", or turn offline mode off.");
    }

    private static String offlineSwitches() {
        return "-D" + HubOptions.PROP_OFFLINE + ", " + HubOptions.ENV_OFFLINE + ", " + HubOptions.ENV_HF_OFFLINE
                + ", --offline or the builder option";
    }

    // ---------------------------------------------------------------- trust records

    private boolean isVerified(Spec spec, Optional<TrustRecord> record) {
        if (record.isEmpty() || !Files.isRegularFile(spec.target())) {
            return false;
        }
        TrustRecord r = record.get();
        try {
            // a file changed since it was verified (same size, new mtime) is hashed again
            return Files.size(spec.target()) == r.size()
                    && (r.modifiedMillis() == null
                            || r.modifiedMillis() == Files.getLastModifiedTime(spec.target()).toMillis())
                    && (spec.size() == null || spec.size() == r.size())
                    && (spec.sha256() == null || spec.sha256().equals(r.sha256()));
        } catch (IOException e) {
            return false;
        }
    }

    static Optional<TrustRecord> readRecord(Spec spec) {
        try {
            String text = Files.readString(spec.record(), StandardCharsets.UTF_8);
            JsonObject o = JsonParser.parseString(text).getAsJsonObject();
            String sha = o.get("sha256").getAsString();
            long size = o.get("size").getAsLong();
            String trust = o.has("trust") ? o.get("trust").getAsString() : TRUST_FIRST_USE;
            if (!sha.matches("[0-9a-f]{64}") || size < 0) {
                throw new IllegalStateException("bad values");
            }
            Long modified = o.has("modifiedMillis") ? o.get("modifiedMillis").getAsLong() : null;
            return Optional.of(new TrustRecord(sha, size, trust, modified));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            // A damaged record must not silently lower the bar: refuse rather than re-trust.
            throw new ModelDownloadException(Reason.CHECKSUM_MISMATCH, spec.display(), spec.url().toString(),
                    "The trust record " + spec.record() + " for " + spec.display() + " is unreadable (" + e
                            + "). Delete it and " + spec.target() + " to download and trust the file again.", e);
        }
    }

    private static void writeRecord(Spec spec, String sha, long size, String trust) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("file", spec.display());
        o.addProperty("url", spec.url().toString());
        o.addProperty("size", size);
        o.addProperty("sha256", sha);
        o.addProperty("trust", trust);
        o.addProperty("verifiedAt", Instant.now().toString());
        if (Files.isRegularFile(spec.target())) {
            o.addProperty("modifiedMillis", Files.getLastModifiedTime(spec.target()).toMillis());
        }
        Files.createDirectories(spec.metaDir());
        AtomicFiles.write(spec.record(), out -> out.write((o + "\n").getBytes(StandardCharsets.UTF_8)));
    }

    /** The hash a download must match: the manifest pin, else the one recorded on first use, else none. */
    private static String expectedSha(Spec spec, Optional<TrustRecord> record) {
        return spec.sha256() != null ? spec.sha256() : record.map(TrustRecord::sha256).orElse(null);
    }

    /**
     * A file is in place but not (or no longer) matched by a record, e.g. copied there by hand for
     * offline use. Hash it: keep it if it matches, delete it if it does not.
     */
    private boolean adoptExisting(Spec spec, Optional<TrustRecord> record, boolean offline) {
        String expected = expectedSha(spec, record);
        String sha;
        long size;
        try {
            size = Files.size(spec.target());
            sha = hashFile(spec.target(), size);
        } catch (IOException e) {
            throw new ModelDownloadException(Reason.IO_ERROR, spec.display(), spec.url().toString(),
                    "Cannot read cached file " + spec.target() + ": " + e.getMessage(), e);
        }
        boolean sizeOk = spec.size() == null || spec.size() == size;
        if (sizeOk && (expected == null || expected.equals(sha))) {
            String trust = spec.sha256() != null ? TRUST_PINNED
                    : record.map(TrustRecord::trust).orElse(TRUST_FIRST_USE);
            try {
                writeRecord(spec, sha, size, trust);
            } catch (IOException e) {
                if (!offline) {
                    throw new ModelDownloadException(Reason.IO_ERROR, spec.display(), spec.url().toString(),
                            "Cannot write trust record " + spec.record() + ": " + e.getMessage(), e);
                }
                log.debug("Read-only cache; not recording sha256 of {}", spec.target(), e);
            }
            if (expected == null) {
                notice(spec, "Model file " + spec.display() + " found in the cache at " + spec.target()
                        + " has no pinned sha256 (" + spec.unpinned() + "); trusting it on first use with sha256 "
                        + sha + ".", true);
            }
            return true;
        }
        String why = !sizeOk ? "size " + size + " instead of " + spec.size() : "sha256 " + sha + " instead of " + expected;
        deleteQuietly(spec.target());
        if (offline) {
            throw new ModelDownloadException(sizeOk ? Reason.CHECKSUM_MISMATCH : Reason.SIZE_MISMATCH, spec.display(),
                    spec.url().toString(), "Cached file " + spec.target() + " has " + why
                            + "; it was deleted. Offline mode is on, so it cannot be downloaded again: fetch "
                            + spec.url() + " and put it there.");
        }
        notice(spec, "Cached file " + spec.target() + " had " + why + "; deleted, downloading it again.", true);
        return false;
    }

    // ---------------------------------------------------------------- locking

    private interface LockedAction<T> {
        T run();
    }

    private <T> T withLock(Spec spec, LockedAction<T> action) {
        Path lockPath = spec.lock().toAbsolutePath().normalize();
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockPath, p -> new ReentrantLock());
        try {
            jvmLock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(spec, e);
        }
        try {
            Files.createDirectories(spec.metaDir());
            try (FileChannel ch = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock fileLock = ch.tryLock();
                if (fileLock == null) {
                    notice(spec, "Another process is downloading " + spec.display() + "; waiting for it.");
                    fileLock = ch.lock(); // blocks until the other process is done
                }
                try {
                    return action.run();
                } finally {
                    fileLock.release();
                }
            }
        } catch (IOException e) {
            throw new ModelDownloadException(Reason.IO_ERROR, spec.display(), spec.url().toString(),
                    "Cannot lock " + lockPath + " to download " + spec.display() + ": " + e.getMessage()
                            + " (is the cache folder " + options.cacheDir() + " writable?)", e);
        } finally {
            jvmLock.unlock();
        }
    }

    // ---------------------------------------------------------------- download

    private void download(Spec spec, Optional<TrustRecord> record) {
        String expected = expectedSha(spec, record);
        boolean firstUse = expected == null;
        ModelDownloadException last = null;
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            try {
                String sha = attempt(spec, expected, attempt);
                finish(spec, sha, firstUse);
                return;
            } catch (Retryable r) {
                last = new ModelDownloadException(r.reason, spec.display(), spec.url().toString(),
                        "Downloading " + spec.display() + " from " + spec.url() + " failed after " + attempt
                                + " attempt(s): " + r.getMessage(), r.getCause());
                if (attempt == options.maxAttempts()) {
                    break;
                }
                Duration wait = backoff(attempt);
                notice(spec, "Download of " + spec.display() + " failed (" + r.getMessage() + "); retrying in "
                        + wait.toMillis() + " ms (attempt " + (attempt + 1) + " of " + options.maxAttempts() + ").", true);
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw interrupted(spec, e);
                }
            }
        }
        throw last;
    }

    private Duration backoff(int attempt) {
        long base = options.initialBackoff().toMillis();
        long max = options.maxBackoff().toMillis();
        long ms = base << Math.min(attempt - 1, 20);
        return Duration.ofMillis(Math.min(ms < 0 ? max : ms, max));
    }

    /** One HTTP exchange; returns the verified sha256 of the complete {@code .part} file. */
    private String attempt(Spec spec, String expected, int attempt) throws Retryable {
        Path part = spec.part();
        long have;
        try {
            Files.createDirectories(spec.metaDir());
            have = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (spec.size() != null && have > spec.size()) {
                Files.delete(part);
                have = 0;
            }
            if (spec.size() != null && have > 0 && have == spec.size()) {
                // A previous run got every byte but did not finish; verify without a request.
                return verifyPart(spec, expected, hashFile(part, have), have, true);
            }
        } catch (IOException e) {
            throw new Retryable(Reason.IO_ERROR, "disk error: " + e, e);
        }
        HttpRequest.Builder rb = HttpRequest.newBuilder(spec.url())
                .timeout(options.readTimeout())
                .header("User-Agent", "bark4j")
                .GET();
        if (have > 0) {
            rb.header("Range", "bytes=" + have + "-");
        }
        HttpResponse<InputStream> resp;
        try {
            resp = client.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new Retryable(Reason.IO_ERROR, "connection failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(spec, e);
        }
        try (InputStream body = resp.body()) {
            int status = resp.statusCode();
            long start;
            long total;
            if (status == 200) {
                start = 0;
                total = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
                if (have > 0) {
                    notice(spec, "Server ignored the range request for " + spec.display() + "; restarting from 0.");
                }
            } else if (status == 206) {
                Matcher m = CONTENT_RANGE.matcher(resp.headers().firstValue("Content-Range").orElse(""));
                if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                    deleteQuietly(part);
                    throw new Retryable(Reason.HTTP_ERROR, "server resumed at the wrong offset (Content-Range '"
                            + resp.headers().firstValue("Content-Range").orElse("") + "', asked for " + have + ")", null);
                }
                start = have;
                total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
                notice(spec, "Resuming " + spec.display() + " at byte " + have + ".");
            } else if (status == 416 && have > 0) {
                Matcher m = UNSATISFIED_RANGE.matcher(resp.headers().firstValue("Content-Range").orElse(""));
                if (m.matches() && Long.parseLong(m.group(1)) == have) {
                    return verifyPart(spec, expected, hashFile(part, have), have, true);
                }
                deleteQuietly(part);
                throw new Retryable(Reason.HTTP_ERROR, "HTTP 416 for a partial file; restarting", null);
            } else {
                throw statusError(spec, status);
            }
            if (spec.size() != null && total >= 0 && total != spec.size()) {
                deleteQuietly(part);
                throw new ModelDownloadException(Reason.SIZE_MISMATCH, spec.display(), spec.url().toString(),
                        "Server reports " + total + " bytes for " + spec.display() + " at " + spec.url()
                                + " but the models manifest expects " + spec.size() + "; nothing was kept.");
            }
            return stream(spec, body, part, start, total, expected);
        } catch (IOException e) {
            throw new Retryable(Reason.IO_ERROR, "connection lost: " + e, e);
        }
    }

    private RuntimeException statusError(Spec spec, int status) throws Retryable {
        if (status == 404 || status == 410) {
            return new ModelDownloadException(Reason.NOT_FOUND, spec.display(), spec.url().toString(),
                    "Model file " + spec.display() + " was not found at " + spec.url() + " (HTTP " + status
                            + "). Check the endpoint and the revision in the models manifest.");
        }
        if (status == 401 || status == 403) {
            return new ModelDownloadException(Reason.ACCESS_DENIED, spec.display(), spec.url().toString(),
                    "Access to " + spec.url() + " was denied (HTTP " + status + ").");
        }
        if (status == 429 || status >= 500) {
            throw new Retryable(Reason.HTTP_ERROR, "HTTP " + status, null);
        }
        return new ModelDownloadException(Reason.HTTP_ERROR, spec.display(), spec.url().toString(),
                "Unexpected HTTP " + status + " for " + spec.url() + ".");
    }

    private String stream(Spec spec, InputStream body, Path part, long start, long total, String expected)
            throws IOException, Retryable {
        MessageDigest md = sha256();
        if (start > 0) {
            hashInto(md, part, start); // the resumed prefix counts too
        }
        listenerStart(spec, total);
        long done = start;
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        long readTimeoutNanos = options.readTimeout().toNanos();
        long period = Math.max(10, Math.min(1000, options.readTimeout().toMillis() / 4));
        ScheduledFuture<?> guard = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastData.get() > readTimeoutNanos) {
                try {
                    body.close(); // unblocks the reader with an IOException
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }, period, period, TimeUnit.MILLISECONDS);
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            out.truncate(start);
            out.position(start);
            byte[] buf = new byte[BUFFER];
            long nextReport = done + PROGRESS_STEP;
            try {
                int n;
                while ((n = body.read(buf)) >= 0) {
                    lastData.set(System.nanoTime());
                    if (n == 0) {
                        continue;
                    }
                    if (spec.size() != null && done + n > spec.size()) {
                        out.close();
                        deleteQuietly(part);
                        throw new ModelDownloadException(Reason.SIZE_MISMATCH, spec.display(), spec.url().toString(),
                                "Server sent more than the " + spec.size() + " bytes expected for " + spec.display()
                                        + "; nothing was kept.");
                    }
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                    md.update(buf, 0, n);
                    done += n;
                    if (done >= nextReport) {
                        listenerProgress(spec, done, total);
                        nextReport = done + PROGRESS_STEP;
                    }
                }
            } catch (IOException e) {
                out.force(false); // keep what arrived for the next attempt
                if (System.nanoTime() - lastData.get() > readTimeoutNanos) {
                    throw new Retryable(Reason.IO_ERROR, "no data for " + options.readTimeout().toMillis()
                            + " ms after byte " + done, e);
                }
                throw new Retryable(Reason.IO_ERROR, "connection lost after byte " + done + ": " + e, e);
            }
            listenerProgress(spec, done, total);
            out.force(true);
        } finally {
            guard.cancel(false);
        }
        if (total >= 0 && done < total) {
            throw new Retryable(Reason.IO_ERROR, "connection closed after " + done + " of " + total + " bytes", null);
        }
        return verifyPart(spec, expected, HexFormat.of().formatHex(md.digest()), done, start > 0);
    }

    /** Checks size and hash of a complete part; on mismatch deletes it. */
    private String verifyPart(Spec spec, String expected, String sha, long size, boolean resumed) throws Retryable {
        if (spec.size() != null && size != spec.size()) {
            deleteQuietly(spec.part());
            throw new ModelDownloadException(Reason.SIZE_MISMATCH, spec.display(), spec.url().toString(),
                    "Downloaded " + size + " bytes for " + spec.display() + " but expected " + spec.size()
                            + "; nothing was kept.");
        }
        if (expected != null && !expected.equals(sha)) {
            deleteQuietly(spec.part());
            if (resumed) {
                // The kept prefix may be stale; one clean retry from byte 0.
                throw new Retryable(Reason.CHECKSUM_MISMATCH, "sha256 mismatch after resuming; restarting from 0", null);
            }
            boolean pinned = spec.sha256() != null;
            throw new ModelDownloadException(Reason.CHECKSUM_MISMATCH, spec.display(), spec.url().toString(),
                    "Downloaded " + spec.display() + " from " + spec.url() + " has sha256 " + sha + " but "
                            + (pinned ? "the models manifest pins " + expected
                                    : "it was first downloaded with sha256 " + expected + " (trust on first use, "
                                            + spec.record() + "); if the upstream file really changed, delete "
                                            + "that record to trust the new one")
                            + ". The file was deleted and not cached.");
        }
        return sha;
    }

    private void finish(Spec spec, String sha, boolean firstUse) {
        try {
            Files.createDirectories(spec.target().getParent());
            long size = Files.size(spec.part());
            if (Files.exists(spec.target())) {
                deleteQuietly(spec.target());
            }
            AtomicFiles.move(spec.part(), spec.target());
            setReadOnly(spec.target());
            writeRecord(spec, sha, size, spec.sha256() != null ? TRUST_PINNED : TRUST_FIRST_USE);
        } catch (IOException e) {
            throw new ModelDownloadException(Reason.IO_ERROR, spec.display(), spec.url().toString(),
                    "Cannot move " + spec.display() + " into the cache at " + spec.target() + ": " + e.getMessage(), e);
        }
        if (firstUse) {
            notice(spec, "Model file " + spec.display() + " has no pinned sha256 (" + spec.unpinned()
                    + "); recorded sha256 " + sha + " on first use. Later downloads must match it.", true);
        }
        try {
            options.listener().onComplete(spec.display(), sha);
        } catch (RuntimeException e) {
            log.warn("Download listener failed in onComplete", e);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Logs at INFO and tells the listener. */
    private void notice(Spec spec, String message) {
        notice(spec, message, false);
    }

    /** Logs at INFO or WARN and tells the listener. */
    private void notice(Spec spec, String message, boolean warn) {
        if (warn) {
            log.warn(message);
        } else {
            log.info(message);
        }
        try {
            options.listener().onNotice(message);
        } catch (RuntimeException e) {
            log.warn("Download listener failed in onNotice", e);
        }
    }

    private void listenerStart(Spec spec, long total) {
        try {
            options.listener().onStart(spec.display(), total);
        } catch (RuntimeException e) {
            log.warn("Download listener failed in onStart", e);
        }
    }

    private void listenerProgress(Spec spec, long done, long total) {
        try {
            options.listener().onProgress(spec.display(), done, total);
        } catch (RuntimeException e) {
            log.warn("Download listener failed in onProgress", e);
        }
    }

    private static ModelDownloadException interrupted(Spec spec, InterruptedException e) {
        return new ModelDownloadException(Reason.INTERRUPTED, spec.display(), spec.url().toString(),
                "Interrupted while downloading " + spec.display(), e);
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    public static String hashFile(Path file, long length) throws IOException {
        MessageDigest md = sha256();
        hashInto(md, file, length);
        return HexFormat.of().formatHex(md.digest());
    }

    private static void hashInto(MessageDigest md, Path file, long length) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[BUFFER];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException(file + " is shorter than " + length + " bytes");
                }
                md.update(buf, 0, n);
                left -= n;
            }
        }
    }

    private static void setReadOnly(Path p) {
        if (!p.toFile().setReadOnly()) {
            log.debug("Could not make {} read-only", p);
        }
    }

    static void deleteQuietly(Path p) {
        try {
            p.toFile().setWritable(true);
            Files.deleteIfExists(p);
        } catch (IOException | UncheckedIOException e) {
            log.warn("Could not delete {}: {}", p, e.toString());
        }
    }
}
