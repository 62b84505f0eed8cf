package io.github.bark4j.examples;

import io.github.bark4j.Attention;
import io.github.bark4j.DownloadListener;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The options every bark4j command line shares (the speak command and the server): where the model
 * comes from, how it runs, and where the voice-cloning models come from. Unset options keep the
 * library's defaults, so each front end runs the same fast path as {@code Synthesizer.builder()} unless
 * the user asks for another.
 */
public final class SynthesizerOptions {

    /** Exactly one model source. */
    static final class ModelSource {
        @Option(names = "--model-dir", paramLabel = "DIR", description = "local Bark model folder (Hugging Face layout)")
        Path modelDir;

        @Option(names = "--model", paramLabel = "ID", description = "model to download and cache, e.g. suno/bark-small")
        String model;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelSource source;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "download cache (default ~/.cache/bark4j)")
    Path cacheDir;

    @Option(names = "--offline", description = "never use the network (model files from the cache only)")
    boolean offline;

    @Option(names = "--precision", paramLabel = "P",
            description = "fp32, bf16 (native bridge on a CPU), fp16 or fp64 (default: the library's, fp32)")
    Precision precision;

    @Option(names = "--attention", paramLabel = "A",
            description = "sdpa (native bridge) or eager (default: the library's, sdpa)")
    Attention attention;

    @Option(names = "--offload", paramLabel = "O", description = "none or per_stage (default: the library's, none)")
    Offload offload;

    @Option(names = "--device", paramLabel = "NAME", description = "compute device, e.g. gpu0 (default: DJL's choice)")
    String device;

    @Option(names = "--voice-cloning", paramLabel = "QUANTIZER", arity = "0..1",
            fallbackValue = Synthesizer.DEFAULT_CLONING_QUANTIZER,
            description = "enable voice cloning with the manifest's models, downloaded into the cache on first use:"
                    + " HuBERT base and the quantizer QUANTIZER (default: ${FALLBACK-VALUE}, English)")
    String cloningQuantizerModel;

    @Option(names = "--cloning-hubert", paramLabel = "DIR",
            description = "enable voice cloning with local models: a HuBERT folder (Hugging Face layout, e.g."
                    + " facebook/hubert-base-ls960); needs --cloning-quantizer")
    Path cloningHubertDir;

    @Option(names = "--cloning-quantizer", paramLabel = "FILE",
            description = "the quantizer .pth for --cloning-hubert (gitmylo's bark-voice-cloning-HuBERT-quantizer)")
    Path cloningQuantizerFile;

    /** The local model folder, or null for a hub model. */
    public Path modelDir() {
        return source.modelDir;
    }

    /** The hub model id, or null for a local folder. */
    public String modelId() {
        return source.model;
    }

    /** A name for the model: its hub id, or the folder's name. */
    public String modelName() {
        return source.model != null ? source.model
                : source.modelDir.toAbsolutePath().normalize().getFileName().toString();
    }

    /** What is wrong with the options beyond their syntax, or null. */
    public String problem() {
        if (source.modelDir != null && !Files.isDirectory(source.modelDir)) {
            return "--model-dir " + source.modelDir + " is not a folder";
        }
        if (cloningQuantizerModel != null && (cloningHubertDir != null || cloningQuantizerFile != null)) {
            return "give either --voice-cloning (the manifest's models) or --cloning-hubert and --cloning-quantizer"
                    + " (local models), not both";
        }
        if ((cloningHubertDir == null) != (cloningQuantizerFile == null)) {
            return "--cloning-hubert DIR and --cloning-quantizer FILE go together";
        }
        if (cloningHubertDir != null && !Files.isDirectory(cloningHubertDir)) {
            return "--cloning-hubert " + cloningHubertDir + " is not a folder";
        }
        if (cloningQuantizerFile != null && !Files.isRegularFile(cloningQuantizerFile)) {
            return "--cloning-quantizer " + cloningQuantizerFile + " is not a file";
        }
        return null;
    }

    /**
     * A builder with these options applied; the library's defaults stand for what was not given.
     *
     * @param downloads progress of model downloads, or null
     */
    public Synthesizer.Builder builder(DownloadListener downloads) {
        Synthesizer.Builder b = Synthesizer.builder();
        if (source.modelDir != null) {
            b.modelDir(source.modelDir);
        } else {
            b.model(source.model);
            if (cacheDir != null) {
                b.cacheDir(cacheDir);
            }
            if (offline) {
                b.offline(true);
            }
            if (downloads != null) {
                b.downloadListener(downloads);
            }
        }
        if (precision != null) {
            b.precision(precision);
        }
        if (attention != null) {
            b.attention(attention);
        }
        if (offload != null) {
            b.offload(offload);
        }
        if (device != null) {
            b.device(device);
        }
        return b;
    }

    /** Whether a cloning flag was given. */
    public boolean cloning() {
        return cloningQuantizerModel != null || cloningHubertDir != null;
    }

    /**
     * Applies the voice-cloning flags to {@code b} (from {@link #builder}); does nothing when none was
     * given, so cloning stays off.
     *
     * @return {@code b}
     */
    public Synthesizer.Builder applyCloning(Synthesizer.Builder b) {
        if (cloningHubertDir != null) {
            b.voiceCloning(cloningHubertDir, cloningQuantizerFile);
        } else if (cloningQuantizerModel != null) {
            b.voiceCloning(cloningQuantizerModel);
        }
        return b;
    }
}
