package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Files bark4j writes for the user (WAV, voice presets, safetensors) get the permissions of any new
 * file under the process's umask, so another user or a web server can read them; no temporary file
 * is left behind.
 */
class WrittenFilePermissionsTest {
    @TempDir
    Path tmp;

    private Set<PosixFilePermission> usual() throws Exception {
        return Files.getPosixFilePermissions(Files.createFile(tmp.resolve("reference")));
    }

    @Test
    void wavAndVoicePresetGetUsualPermissions() throws Exception {
        Set<PosixFilePermission> usual = usual();
        int[] semantic = {1, 2, 3};
        int[][] coarse = {{4, 5}, {6, 7}};
        int[][] fine = new int[8][2];
        Speech speech = new Speech(new float[] {0f, 0.5f, -0.5f}, 24_000, semantic, coarse, fine, List.of(), false);
        Path wav = tmp.resolve("out/speech.wav");
        speech.writeWav(wav);
        assertEquals(usual, Files.getPosixFilePermissions(wav));
        assertEquals(44 + 6, Files.size(wav));

        Path npz = tmp.resolve("voice.npz");
        speech.toVoicePreset().save(npz);
        assertEquals(usual, Files.getPosixFilePermissions(npz));
        VoicePreset back = VoicePreset.load(npz);
        assertEquals(3, back.semanticPrompt().length);

        // writing again replaces the file in one step
        speech.writeWav(wav);
        assertEquals(44 + 6, Files.size(wav));
        try (Stream<Path> files = Files.list(tmp)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left");
        }
        try (Stream<Path> files = Files.list(wav.getParent())) {
            assertEquals(List.of(wav), files.toList());
        }
    }
}
