package io.github.bark4j.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The golden cases of the tiny-bark fixture (outputs of the original Bark code, greedy, float64). */
public final class Golden {
    public record Case(String name, String text, String voice, double maxSemanticSeconds, long[] textIds, int[] semantic,
            int[][] coarse, int[][] fine, Path audioFile, int audioSamples, double minTop2Gap) {}

    private Golden() {}

    public static List<Case> cases() throws IOException {
        Path dir = SharedFiles.tinyBark();
        JsonObject root = JsonParser.parseString(Files.readString(dir.resolve("golden.json"))).getAsJsonObject();
        List<Case> out = new ArrayList<>();
        for (JsonElement e : root.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            out.add(new Case(c.get("name").getAsString(), c.get("text").getAsString(),
                    c.get("voice").isJsonNull() ? null : c.get("voice").getAsString(),
                    c.get("max_semantic_seconds").getAsDouble(), longs(c.getAsJsonArray("text_ids")),
                    ints(c.getAsJsonArray("semantic_tokens")), ints2(c.getAsJsonArray("coarse_tokens")),
                    ints2(c.getAsJsonArray("fine_tokens")), dir.resolve(c.get("audio_file").getAsString()),
                    c.get("audio_samples").getAsInt(), c.get("min_top2_logit_gap").getAsDouble()));
        }
        return out;
    }

    public static Case byName(String name) throws IOException {
        return cases().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    public static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    static int[][] ints2(JsonArray a) {
        int[][] out = new int[a.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints(a.get(i).getAsJsonArray());
        }
        return out;
    }

    public static double[] npyDoubles(String file) {
        return npyDoubles(SharedFiles.tinyBark().resolve(file));
    }

    /** A float64 or float32 .npy file's values, flattened in C order. */
    public static double[] npyDoubles(Path file) {
        RawTensor t = Npy.read(file);
        double[] out = new double[(int) t.numElements()];
        var b = t.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < out.length; i++) {
            out[i] = t.dtype() == DType.F64 ? b.getDouble(i * 8) : b.getFloat(i * 4);
        }
        return out;
    }
}
