package io.github.bark4j.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only fixtures and voices that sit beside the checkout in {@code ../shared}. */
public final class SharedFiles {
    private SharedFiles() {}

    public static Path shared() {
        String prop = System.getProperty("bark4j.shared");
        Path p = prop != null ? Path.of(prop) : Path.of("..", "shared");
        p = p.toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("Test data folder not found at " + p
                    + " (set -Dbark4j.shared=/path/to/shared)");
        }
        return p;
    }

    public static Path tinyBark() {
        return shared().resolve("fixtures/tiny-bark");
    }

    /** The voice-cloning fixture: recordings, a tiny HuBERT, quantizers and their golden outputs. */
    public static Path tinyClone() {
        return shared().resolve("fixtures/tiny-clone");
    }

    public static Path voice(String name) {
        return shared().resolve("voices").resolve(name + ".npz");
    }
}
