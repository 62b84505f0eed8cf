package io.github.bark4j.internal.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Files written in one step: a reader sees the old file or the whole new one, never a part. The
 * temporary file is created like any new file, so the result gets the usual permissions from the
 * umask; {@code Files.createTempFile} would make it readable by its owner only.
 */
public final class AtomicFiles {
    /** Writes the file's content to the stream it is given. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {}

    /** Writes {@code target} (creating its folder) from {@code content}, replacing any old file. */
    public static void write(Path target, Content content) throws IOException {
        Path file = target.toAbsolutePath();
        Files.createDirectories(file.getParent());
        Path tmp = newSibling(file);
        try {
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
                content.writeTo(out);
            }
            move(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** A new, empty, hidden file in {@code target}'s folder, with umask permissions. */
    public static Path newSibling(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path candidate = dir.resolve("." + target.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + ".tmp");
            try {
                return Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    /** Moves atomically where the file system can, else plainly; replaces {@code to}. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
