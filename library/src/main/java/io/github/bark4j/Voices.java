package io.github.bark4j;

import java.nio.file.Files;
import java.nio.file.Path;

/** Named voice presets of a model folder. */
final class Voices {
    private Voices() {}

    /**
     * Resolves a preset name: {@code speaker_embeddings/<name>_{semantic,coarse,fine}_prompt.npy}
     * (Hugging Face layout) or {@code <name>.npz} in the model folder.
     */
    static VoicePreset load(Path modelDir, String name) {
        if (name.contains("..") || name.startsWith("/") || name.contains("\\")) {
            throw new InvalidVoiceException("Invalid voice name '" + name + "'");
        }
        Path emb = modelDir.resolve("speaker_embeddings");
        Path semantic = emb.resolve(name + "_semantic_prompt.npy");
        if (Files.isRegularFile(semantic)) {
            return VoicePreset.loadNpy(semantic, emb.resolve(name + "_coarse_prompt.npy"),
                    emb.resolve(name + "_fine_prompt.npy"));
        }
        Path npz = modelDir.resolve(name + ".npz");
        if (Files.isRegularFile(npz)) {
            return VoicePreset.load(npz);
        }
        throw new InvalidVoiceException("Voice '" + name + "' not found in " + modelDir
                + " (looked for speaker_embeddings/" + name + "_semantic_prompt.npy and " + name + ".npz)");
    }
}
