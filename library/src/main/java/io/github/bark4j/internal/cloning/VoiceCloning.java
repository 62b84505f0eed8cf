package io.github.bark4j.internal.cloning;

import io.github.bark4j.Precision;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.audio.Audio;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Voice cloning as a synthesizer offers it: the models are named when it is built, found (downloaded
 * for hub models) and loaded at the first clone, then kept until {@link #close}. Callers may clone from
 * any number of threads; the first one loads.
 */
public final class VoiceCloning implements AutoCloseable {

    /** Where the two cloning models are: a HuBERT folder (Hugging Face layout) and a quantizer file. */
    public record ModelFiles(Path hubertDir, Path quantizerFile) {
        public ModelFiles {
            Objects.requireNonNull(hubertDir, "hubertDir");
            Objects.requireNonNull(quantizerFile, "quantizerFile");
        }
    }

    private final Path barkDir;
    private final Precision precision;
    private final Supplier<ModelFiles> files;
    private VoiceCloner cloner;
    private boolean closed;

    /**
     * @param barkDir the Bark model folder, whose checkpoint holds the EnCodec encoder
     * @param files finds the cloning models when first needed (downloads them for hub models)
     */
    public VoiceCloning(Path barkDir, Precision precision, Supplier<ModelFiles> files) {
        this.barkDir = barkDir;
        this.precision = precision;
        this.files = files;
    }

    /** The preset of a recording; see {@link VoiceCloner#clone(Audio)}. */
    public VoicePreset clone(Audio audio) {
        return cloner().clone(audio);
    }

    /** The loaded models (loading them on the first call). */
    public synchronized VoiceCloner cloner() {
        if (closed) {
            throw new IllegalStateException("voice cloning is closed");
        }
        if (cloner == null) {
            ModelFiles f = files.get();
            cloner = VoiceCloner.load(barkDir, f.hubertDir(), f.quantizerFile(), precision);
        }
        return cloner;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (cloner != null) {
            cloner.close();
            cloner = null;
        }
    }
}
