package io.github.bark4j.internal;

import io.github.bark4j.GenerationOptions;

import java.lang.invoke.MethodHandles;
import java.nio.file.Path;

/**
 * The one door from the implementation packages into package-private parts of the public API (as
 * OkHttp's {@code Internal} and the JDK's {@code SharedSecrets} are): options that must not be
 * public, but that the stages read and the benchmarks outside the library set. The API package
 * installs the only instance when {@link GenerationOptions} is initialized.
 */
public abstract class ApiAccess {
    private static volatile ApiAccess instance;

    /** The instance the API installed. */
    public static ApiAccess get() {
        if (instance == null) {
            try {
                MethodHandles.lookup().ensureInitialized(GenerationOptions.class);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot initialize " + GenerationOptions.class, e);
            }
        }
        return instance;
    }

    /** Called once, by the API package. */
    public static synchronized void install(ApiAccess access) {
        if (instance != null) {
            throw new IllegalStateException("ApiAccess is installed already");
        }
        instance = access;
    }

    /**
     * Makes every generation with these options produce exactly {@code n} semantic tokens, end of
     * sequence ignored (0 = off): the fixed workloads of the benchmarks, whose random weights would
     * otherwise stop wherever end of sequence happens to win.
     */
    public abstract GenerationOptions.Builder fixedSemanticTokens(GenerationOptions.Builder builder, int n);

    /** What {@link #fixedSemanticTokens(GenerationOptions.Builder, int)} set: 0 when off. */
    public abstract int fixedSemanticTokens(GenerationOptions options);
}
