package io.github.bark4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A speaker prompt in Bark's format: the semantic tokens, the two coarse codebooks and all fine
 * codebooks of an earlier utterance. Later generations continue from it, so the voice stays the same.
 * Immutable; accessors return copies.
 */
public final class VoicePreset {
    /** Bark's semantic vocabulary: ids 0..9999. */
    static final int SEMANTIC_VOCAB = 10_000;
    /** EnCodec codebook size: codes 0..1023. */
    static final int CODEBOOK_SIZE = 1024;

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
        checkRange(s, SEMANTIC_VOCAB, where, "semantic_prompt");
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
            checkRange(row, CODEBOOK_SIZE, where, "coarse_prompt");
        }
        for (int[] row : f) {
            checkRange(row, CODEBOOK_SIZE, where, "fine_prompt");
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
        if (npz == null || !Files.isRegularFile(npz)) {
            throw new InvalidVoiceException("Voice preset file not found: " + npz);
        }
        Map<String, RawTensor> arrays;
        try {
            arrays = Npy.readNpz(npz);
        } catch (ModelLoadException e) {
            throw new InvalidVoiceException("Cannot read voice preset " + npz + ": " + e.getMessage(), e);
        }
        try {
            return fromArrays(arrays.get("semantic_prompt"), arrays.get("coarse_prompt"),
                    arrays.get("fine_prompt"), npz.toString());
        } catch (InvalidVoiceException e) {
            throw new InvalidVoiceException(npz + ": " + e.getMessage(), e);
        }
    }

    /** Loads the Hugging Face layout: three {@code .npy} files. */
    static VoicePreset loadNpy(Path semantic, Path coarse, Path fine) {
        try {
            return fromArrays(Npy.read(semantic), Npy.read(coarse), Npy.read(fine), semantic.toString());
        } catch (ModelLoadException e) {
            throw new InvalidVoiceException("Cannot read voice preset: " + e.getMessage(), e);
        }
    }

    static VoicePreset fromArrays(RawTensor semantic, RawTensor coarse, RawTensor fine, String where) {
        if (semantic == null || coarse == null || fine == null) {
            java.util.List<String> missing = new java.util.ArrayList<>();
            if (semantic == null) {
                missing.add("semantic_prompt");
            }
            if (coarse == null) {
                missing.add("coarse_prompt");
            }
            if (fine == null) {
                missing.add("fine_prompt");
            }
            throw new InvalidVoiceException("a voice preset needs the arrays semantic_prompt, coarse_prompt"
                    + " and fine_prompt; missing: " + String.join(", ", missing) + " (" + where + ")");
        }
        requireInts(semantic, "semantic_prompt");
        requireInts(coarse, "coarse_prompt");
        requireInts(fine, "fine_prompt");
        if (semantic.rank() != 1) {
            throw new InvalidVoiceException("semantic_prompt must be 1-D, has shape "
                    + java.util.Arrays.toString(semantic.shape()));
        }
        if (coarse.rank() != 2 || fine.rank() != 2) {
            throw new InvalidVoiceException("coarse_prompt and fine_prompt must be 2-D (codebooks × frames), have "
                    + java.util.Arrays.toString(coarse.shape()) + " and " + java.util.Arrays.toString(fine.shape()));
        }
        return of(toInts(semantic.toLongArray(), "semantic_prompt"), rows(coarse), rows(fine));
    }

    private static void requireInts(RawTensor t, String name) {
        if (!t.dtype().isInteger()) {
            throw new InvalidVoiceException(name + " must hold integers, holds " + t.dtype());
        }
    }

    private static int[][] rows(RawTensor t) {
        long[] v = t.toLongArray();
        int r = (int) t.shape()[0];
        int c = (int) t.shape()[1];
        int[][] out = new int[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[i][j] = clampToInt(v[i * c + j]);
            }
        }
        return out;
    }

    private static int[] toInts(long[] v, String name) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = clampToInt(v[i]);
        }
        return out;
    }

    /** Out-of-int values become MIN/MAX so that the range check reports them. */
    private static int clampToInt(long v) {
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
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

    int semanticLength() {
        return semantic.length;
    }

    int[] semanticView() {
        return semantic;
    }

    int[][] coarseView() {
        return coarse;
    }

    int[][] fineView() {
        return fine;
    }

    /** Writes this preset as an original-Bark {@code .npz} (int64 arrays), atomically. */
    public void save(Path npz) {
        try {
            AtomicFiles.write(npz, os -> {
                ZipOutputStream zip = new ZipOutputStream(os);
                put(zip, "semantic_prompt", new long[] {semantic.length}, flatten(new int[][] {semantic}));
                put(zip, "coarse_prompt", new long[] {coarse.length, coarse[0].length}, flatten(coarse));
                put(zip, "fine_prompt", new long[] {fine.length, fine[0].length}, flatten(fine));
                zip.finish();
            });
        } catch (IOException e) {
            throw new BarkException("Cannot write voice preset " + npz + ": " + e.getMessage(), e);
        }
    }

    private static void put(ZipOutputStream zip, String name, long[] shape, long[] values) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            data.putLong(v);
        }
        data.flip();
        zip.putNextEntry(new ZipEntry(name + ".npy"));
        zip.write(Npy.write(shape, DType.I64, data));
        zip.closeEntry();
    }

    private static long[] flatten(int[][] a) {
        int n = 0;
        for (int[] r : a) {
            n += r.length;
        }
        long[] out = new long[n];
        int k = 0;
        for (int[] r : a) {
            for (int v : r) {
                out[k++] = v;
            }
        }
        return out;
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
