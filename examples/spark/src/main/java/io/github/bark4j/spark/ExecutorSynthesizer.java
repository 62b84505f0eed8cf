package io.github.bark4j.spark;

import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One loaded model per JVM and model spec, shared by every task that runs in this executor (tasks
 * are threads of one JVM; {@link Synthesizer} allows concurrent calls). Loaded on first use, kept
 * until the JVM ends or {@link #closeAll()}; voices are cached beside it.
 */
public final class ExecutorSynthesizer {
    private static final Map<ModelSpec, Loaded> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private record Loaded(Synthesizer synth, Map<String, VoicePreset> voices) {}

    private ExecutorSynthesizer() {}

    /** The synthesizer for {@code spec}, loading it if this JVM has not yet. */
    public static Synthesizer get(ModelSpec spec) {
        return loaded(spec, () -> { }).synth();
    }

    /** As {@link #get(ModelSpec)}; {@code onLoad} runs once, in the thread that loads the model. */
    static Synthesizer get(ModelSpec spec, Runnable onLoad) {
        return loaded(spec, onLoad).synth();
    }

    private static Loaded loaded(ModelSpec spec, Runnable onLoad) {
        Loaded l = MODELS.get(spec);
        if (l != null) {
            return l;
        }
        synchronized (ExecutorSynthesizer.class) {
            // one load at a time: a second task waits for the first one's model instead of loading its own
            return MODELS.computeIfAbsent(spec, s -> {
                if (System.getProperty("ai.djl.offline") == null) {
                    // libtorch comes from the pytorch-native-cpu jar on the classpath: DJL must not download it
                    System.setProperty("ai.djl.offline", "true");
                }
                Synthesizer synth = s.load();
                LOADS.incrementAndGet();
                onLoad.run();
                return new Loaded(synth, new ConcurrentHashMap<>());
            });
        }
    }

    /**
     * A voice for {@code spec}'s model: a path ending in {@code .npz} (an original Bark preset on shared
     * storage) or a preset name of the model ("v2/en_speaker_6").
     *
     * @throws InvalidVoiceException when there is no such preset or the file is not one
     */
    static VoicePreset voice(ModelSpec spec, String voice) {
        Loaded l = loaded(spec, () -> { });
        VoicePreset cached = l.voices().get(voice);
        if (cached != null) {
            return cached;
        }
        VoicePreset v = voice.endsWith(".npz") ? VoicePreset.load(Path.of(voice)) : l.synth().voice(voice);
        l.voices().put(voice, v);
        return v;
    }

    /** How many models this JVM has loaded so far (for tests and logs). */
    public static int loads() {
        return LOADS.get();
    }

    /** Closes every loaded model of this JVM. */
    public static synchronized void closeAll() {
        MODELS.values().forEach(l -> l.synth().close());
        MODELS.clear();
    }

    /** Closes {@code spec}'s model if this JVM has it (the driver of a cluster job, after its check). */
    static synchronized void close(ModelSpec spec) {
        Loaded l = MODELS.remove(spec);
        if (l != null) {
            l.synth().close();
        }
    }
}
