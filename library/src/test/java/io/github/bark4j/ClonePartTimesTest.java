package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.internal.cloning.VoiceCloner;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmarks' route to a clone's part times ({@link VoiceCloner#observing}) around the public
 * {@link Synthesizer#cloneVoice(Path)}: the same preset, each part reported once, in order, with its
 * time, and nothing reported to a thread that did not ask.
 */
class ClonePartTimesTest {
    private static final Path FIXTURE = SharedFiles.tinyClone();

    @Test
    void everyPartIsTimedOnceInOrderAndThePresetIsThePublicOne() {
        Path wav = FIXTURE.resolve("audio/rec_a_44k_stereo_s16.wav");
        try (Synthesizer s = Synthesizer.builder().modelDir(FIXTURE.resolve("bark")).precision(Precision.FP64)
                .voiceCloning(FIXTURE.resolve("hubert"), FIXTURE.resolve("quantizer/tiny_quantizer_v0.pth")).build()) {
            List<VoiceCloner.Part> order = new ArrayList<>();
            Map<VoiceCloner.Part, Long> nanos = new EnumMap<>(VoiceCloner.Part.class);
            long t0 = System.nanoTime();
            VoicePreset timed = VoiceCloner.observing((part, n) -> {
                order.add(part);
                nanos.put(part, n);
            }, () -> s.cloneVoice(wav));
            long wall = System.nanoTime() - t0;
            assertEquals(List.of(VoiceCloner.Part.values()), order);
            long sum = 0;
            for (long n : nanos.values()) {
                assertTrue(n > 0, nanos.toString());
                sum += n;
            }
            assertTrue(sum <= wall, "parts " + sum + " ns within the call's " + wall + " ns");
            VoicePreset golden = VoicePreset.load(FIXTURE.resolve("rec_a_v0.npz"));
            assertArrayEquals(golden.semanticPrompt(), timed.semanticPrompt());
            assertArrayEquals(golden.finePrompt(), timed.finePrompt());
            assertArrayEquals(s.cloneVoice(wav).finePrompt(), timed.finePrompt());
            assertEquals(VoiceCloner.Part.values().length, order.size(), "a clone outside observing() tells nobody");
        }
    }
}
