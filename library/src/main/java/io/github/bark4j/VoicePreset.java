package io.github.bark4j;

import io.github.bark4j.internal.model.PresetFiles;
import io.github.bark4j.internal.model.Vocabulary;

import java.nio.file.Path;

/**
 * A speaker prompt in Bark's format: the semantic tokens, the two coarse codebooks and all fine
 * codebooks of an earlier utterance. Later generations continue from it, so the voice stays the same.
 * Immutable; accessors return copies.
 */
public final class VoicePreset {
    private final int[] semantic;
    private final int[][] coarse;
    private final int[][] fine;

    private VoicePreset(int[] semantic, int[][] coarse, int[][] fine) {
        this.semantic = semantic;
        this.coarse = coarse;
        this.fine = fine;
    }

    /**
     * A preset from arrays: semantic tokens (1-D, 0..9999), coarse codes (2 × T, 0..1023) and fine codes
     * (N × T', 0..1023, N ≥ 2).
     *
     * @throws InvalidVoiceException when a shape or value is out of range
     */
    public static VoicePreset of(int[] semanticPrompt, int[][] coarsePrompt, int[][] finePrompt) {
        String where = "voice preset";
        if (semanticPrompt == null || coarsePrompt == null || finePrompt == null) {
            throw new InvalidVoiceException("A voice preset needs semantic, coarse and fine prompts");
        }
        int[] s = semanticPrompt.clone();
        checkRange(s, Vocabulary.SEMANTIC_SIZE, where, "semantic_prompt");
        if (s.length == 0) {
            throw new InvalidVoiceException(where + ": semantic_prompt is empty");
        }
        int[][] c = copy2d(coarsePrompt, where, "coarse_prompt");
        int[][] f = copy2d(finePrompt, where, "fine_prompt");
        if (c.length != 2) {
            throw new InvalidVoiceException(where + ": coarse_prompt must have 2 rows (codebooks), has " + c.length);
        }
        if (f.length < 2) {
            throw new InvalidVoiceException(where + ": fine_prompt must have at least 2 rows, has " + f.length);
        }
        if (c[0].length == 0 || f[0].length == 0) {
            throw new InvalidVoiceException(where + ": coarse_prompt and fine_prompt must not be empty");
        }
        for (int[] row : c) {
            checkRange(row, Vocabulary.CODEBOOK_SIZE, where, "coarse_prompt");
        }
        for (int[] row : f) {
            checkRange(row, Vocabulary.CODEBOOK_SIZE, where, "fine_prompt");
        }
        return new VoicePreset(s, c, f);
    }

    /**
     * Loads an original Bark {@code .npz} preset ({@code semantic_prompt}, {@code coarse_prompt},
     * {@code fine_prompt}; any integer dtype).
     *
     * @throws InvalidVoiceException when the file is missing, not an npz, or its arrays are invalid
     */
    public static VoicePreset load(Path npz) {
        return PresetFiles.readNpz(npz);
    }

    private static int[][] copy2d(int[][] a, String where, String name) {
        int[][] out = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            if (a[i] == null || a[i].length != a[0].length) {
                throw new InvalidVoiceException(where + ": " + name + " rows must all have the same length");
            }
            out[i] = a[i].clone();
        }
        return out;
    }

    private static void checkRange(int[] values, int limit, String where, String name) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= limit) {
                throw new InvalidVoiceException(where + ": " + name + " holds " + values[i] + " at index " + i
                        + "; values must be in 0.." + (limit - 1));
            }
        }
    }

    public int[] semanticPrompt() {
        return semantic.clone();
    }

    public int[][] coarsePrompt() {
        return deepCopy(coarse);
    }

    public int[][] finePrompt() {
        return deepCopy(fine);
    }

    /** Writes this preset as an original-Bark {@code .npz} (int64 arrays), atomically. */
    public void save(Path npz) {
        PresetFiles.writeNpz(this, npz);
    }

    private static int[][] deepCopy(int[][] a) {
        int[][] out = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }

    @Override
    public String toString() {
        return "VoicePreset[semantic=" + semantic.length + ", coarse=" + coarse.length + "x" + coarse[0].length
                + ", fine=" + fine.length + "x" + fine[0].length + "]";
    }
}
