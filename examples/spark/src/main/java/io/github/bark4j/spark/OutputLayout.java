package io.github.bark4j.spark;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The files of a job under {@code --output}, on storage that every executor sees:
 * <ul>
 * <li>{@code audio/<key>.wav}: one WAV per spoken row ({@code --audio-format wav});</li>
 * <li>{@code _rows/<key>.json}: the record of a finished row, written after its audio, so its
 *     presence means the row is complete; with {@code --audio-format parquet} the audio waits beside
 *     it as {@code _rows/<key>.wav} until it goes into the manifest;</li>
 * <li>{@code manifest/}: the Parquet manifest, written by Spark at the end.</li>
 * </ul>
 * Every file is written to a hidden temporary sibling, flushed to disk and renamed, so a reader (or a
 * re-run) sees a whole file or none. {@code <key>} is the row id made safe for a file name.
 */
final class OutputLayout implements Serializable {
    private static final Gson GSON = new Gson();
    private static final String TMP_SUFFIX = ".tmp";

    private final String root;
    private final boolean audioInParquet;

    OutputLayout(Path root, boolean audioInParquet) {
        this.root = root.toAbsolutePath().normalize().toString();
        this.audioInParquet = audioInParquet;
    }

    boolean audioInParquet() {
        return audioInParquet;
    }

    Path root() {
        return Path.of(root);
    }

    Path manifest() {
        return root().resolve("manifest");
    }

    Path record(String key) {
        return root().resolve("_rows").resolve(key + ".json");
    }

    /** Where a row's audio is kept: its final WAV, or the staged one for the Parquet manifest. */
    Path audio(String key) {
        return audioInParquet ? root().resolve("_rows").resolve(key + ".wav")
                : root().resolve("audio").resolve(key + ".wav");
    }

    /** The manifest's {@code path}: the WAV relative to the output folder, or null when audio is in the manifest. */
    String manifestPath(String key) {
        return audioInParquet ? null : "audio/" + key + ".wav";
    }

    /**
     * A file name for an id, one-to-one: letters, digits, '-', '_' and '.' stay, every other byte of the
     * UTF-8 form becomes %XX ('%' too), and "."/".." are escaped; a long result keeps its first 80
     * characters plus a SHA-256 of the id.
     */
    static String key(String id) {
        StringBuilder sb = new StringBuilder();
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_' || (c == '.' && sb.length() > 0);
            if (plain) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        String k = sb.toString();
        return k.length() <= 120 ? k : k.substring(0, 80) + "~" + sha256(id).substring(0, 32);
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What a finished row leaves behind; {@code fingerprint} says which input and settings made it. */
    record Done(String id, String fingerprint, double durationS, int sampleRate, int semanticTokens, long seed,
            double elapsedS) {}

    /** The finished record of {@code key} when it was made from the same input and settings, else null. */
    Done finished(String key, String fingerprint) {
        Path rec = record(key);
        try {
            Done d = GSON.fromJson(Files.readString(rec), Done.class);
            if (d == null || !fingerprint.equals(d.fingerprint()) || !Files.isRegularFile(audio(key))) {
                return null;
            }
            return d;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + rec, e);
        } catch (JsonParseException e) {
            return null; // not ours or damaged: make the row again
        }
    }

    /** Marks a row finished: its audio first, then the record that vouches for it. */
    void finish(String key, byte[] wav, Done done) throws IOException {
        writeAtomically(audio(key), wav);
        writeAtomically(record(key), GSON.toJson(done).getBytes(StandardCharsets.UTF_8));
    }

    byte[] readAudio(String key) throws IOException {
        return Files.readAllBytes(audio(key));
    }

    /**
     * Deletes the temporary files a killed run left behind. Call before any task runs: a running task's
     * temporary file would go too.
     */
    int removeLeftovers() throws IOException {
        int removed = 0;
        for (String dir : new String[] {"audio", "_rows"}) {
            Path d = root().resolve(dir);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(d, "." + "*" + TMP_SUFFIX)) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                    removed++;
                }
            }
        }
        return removed;
    }

    static void writeAtomically(Path target, byte[] content) throws IOException {
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path tmp = null;
        for (int attempt = 0; tmp == null; attempt++) {
            Path candidate = dir.resolve("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + TMP_SUFFIX);
            try {
                tmp = Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(content);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true); // on disk before the rename makes it visible: a crash leaves old or new, whole
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
