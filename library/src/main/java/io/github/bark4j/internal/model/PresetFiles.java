package io.github.bark4j.internal.model;

import io.github.bark4j.BarkException;
import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Voice presets on disk: the original Bark {@code .npz} (three int arrays) and the Hugging Face
 * layout (three {@code .npy} files), read into a {@link VoicePreset}, which checks shapes and ranges.
 */
public final class PresetFiles {
    private PresetFiles() {}

    /**
     * Loads an original Bark {@code .npz} preset ({@code semantic_prompt}, {@code coarse_prompt},
     * {@code fine_prompt}; any integer dtype).
     *
     * @throws InvalidVoiceException when the file is missing, not an npz, or its arrays are invalid
     */
    public static VoicePreset readNpz(Path npz) {
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
    public static VoicePreset readNpy(Path semantic, Path coarse, Path fine) {
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
        return VoicePreset.of(toInts(semantic.toLongArray(), "semantic_prompt"), rows(coarse), rows(fine));
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

    /** Writes {@code preset} as an original-Bark {@code .npz} (int64 arrays), atomically. */
    public static void writeNpz(VoicePreset preset, Path npz) {
        int[] semantic = preset.semanticPrompt();
        int[][] coarse = preset.coarsePrompt();
        int[][] fine = preset.finePrompt();
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
}
