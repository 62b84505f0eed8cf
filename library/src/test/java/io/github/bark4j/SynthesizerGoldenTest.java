package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.internal.model.Voices;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Golden cases through other ways of giving the model: the PyTorch checkpoint instead of safetensors,
 * and a voice by name from the model's speaker_embeddings (greedy FP64, as {@link ConformanceTest}).
 */
class SynthesizerGoldenTest {

    @TempDir
    Path tmp;

    /**
     * A folder without model.safetensors (so pytorch_model.bin is read) and with a named voice in the
     * Hugging Face layout: the golden "short" case (tokens and audio), then the golden "voice" case
     * with the voice given by name. One folder and one model load for both checks,
     * because FP64 generation of the golden cases takes a while.
     */
    @Test
    void pytorchCheckpointAndNamedVoiceMatchGolden() throws IOException {
        Path dir = SynthesizerTest.linkedCopy(tmp.resolve("ptbin-named"), f -> f.equals("model.safetensors"));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertTrue(Files.exists(dir.resolve("pytorch_model.bin")));
        Map<String, String> paths = SynthesizerTest.writeNamedVoice(dir, "v2/en_speaker_6");
        StringBuilder index = new StringBuilder("{\"repo_or_path\": \"somewhere\", \"v2/en_speaker_6\": {");
        paths.forEach((k, v) -> index.append('"').append(k).append("\": \"").append(v).append("\", "));
        index.setLength(index.length() - 2);
        index.append("}}");
        Files.writeString(dir.resolve(Voices.INDEX), index.toString());

        Golden.Case voice = Golden.byName("voice");
        try (Synthesizer s = Synthesizer.builder().modelDir(dir).precision(Precision.FP64).build()) {
            assertEquals(List.of("v2/en_speaker_6"), s.availableVoices());
            VoicePreset named = s.voice("v2/en_speaker_6");
            VoicePreset file = VoicePreset.load(SharedFiles.voice("v2/en_speaker_6"));
            assertArrayEquals(file.semanticPrompt(), named.semanticPrompt());
            assertArrayEquals(file.coarsePrompt(), named.coarsePrompt());
            assertArrayEquals(file.finePrompt(), named.finePrompt());
            assertGolden(s, Golden.byName("short"), GenerationOptions.builder().greedy(), true);
            assertGolden(s, voice, GenerationOptions.builder().greedy().voice("v2/en_speaker_6"), true);

            InvalidVoiceException e = assertThrows(InvalidVoiceException.class,
                    () -> s.generate("Hello", GenerationOptions.builder().greedy().maxSemanticSeconds(0.1).voice("v2/xx_speaker_42").build()));
            SynthesizerTest.assertMentions(e, "v2/xx_speaker_42", "v2/en_speaker_6");
            assertThrows(InvalidVoiceException.class, () -> s.voice("../../etc/passwd"));
            assertThrows(InvalidVoiceException.class, () -> s.voice("/abs"));
        }
    }


    private static void assertGolden(Synthesizer s, Golden.Case c, GenerationOptions.Builder options, boolean audio) {
        Speech speech = s.generate(c.text(), options.maxSemanticSeconds(c.maxSemanticSeconds()).build());
        assertArrayEquals(c.semantic(), speech.semanticTokens(), c.name() + " semantic");
        assertArrayEquals(c.coarse(), speech.coarseTokens(), c.name() + " coarse");
        assertArrayEquals(c.fine(), speech.fineTokens(), c.name() + " fine");
        if (audio) {
            double[] expected = Golden.npyDoubles(c.audioFile().getFileName().toString());
            float[] actual = speech.samples();
            assertEquals(expected.length, actual.length);
            for (int i = 0; i < actual.length; i++) {
                assertEquals(expected[i], actual[i], 1e-6, c.name() + " sample " + i);
            }
        }
    }

}
