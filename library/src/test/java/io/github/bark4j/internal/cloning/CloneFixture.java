package io.github.bark4j.internal.cloning;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.testing.SharedFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The tiny-clone fixture's recordings and golden values (computed by the original code in float64). */
final class CloneFixture {
    private CloneFixture() {}

    /** One recording: its 16 kHz audio, HuBERT layer-9 features and quantizer tokens. */
    record Recording(String name, Path wav16, Path hubert, int frames, int[] tokensV0, int[] tokensV1) {}

    static Path dir() {
        return SharedFiles.tinyClone();
    }

    static Path hubertDir() {
        return dir().resolve("hubert");
    }

    static Path quantizer(int version) {
        return dir().resolve("quantizer/tiny_quantizer_v" + version + ".pth");
    }

    static JsonObject golden() {
        try {
            return JsonParser.parseString(Files.readString(dir().resolve("golden.json"))).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Recording> recordings() {
        List<Recording> out = new ArrayList<>();
        for (JsonElement e : golden().getAsJsonArray("recordings")) {
            JsonObject r = e.getAsJsonObject();
            out.add(new Recording(r.get("name").getAsString(), dir().resolve(r.get("wav16_file").getAsString()),
                    dir().resolve(r.get("hubert_file").getAsString()), r.get("hubert_frames").getAsInt(),
                    ints(r.getAsJsonArray("semantic_tokens_v0")), ints(r.getAsJsonArray("semantic_tokens_v1"))));
        }
        return out;
    }

    static Recording recording(String name) {
        return recordings().stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    /** A float64 or float32 .npy file's values, row-major. */
    static double[] npy(Path file) {
        RawTensor t = Npy.read(file);
        double[] out = new double[Math.toIntExact(t.numElements())];
        ByteBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < out.length; i++) {
            out[i] = t.dtype() == DType.F64 ? b.getDouble(i * 8) : b.getFloat(i * 4);
        }
        return out;
    }

    static long[] npyShape(Path file) {
        return Npy.read(file).shape();
    }

    /** A float64 tensor of {@code values} (row-major) with {@code shape}. */
    static RawTensor f64(String name, double[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        b.flip();
        return new RawTensor(name, DType.F64, shape, b);
    }

    /**
     * A view of another source with tensors renamed ({@code renames}: new name → old name, the old
     * name then hidden), dropped, or added, for checkpoints the fixture does not ship.
     */
    static final class EditedSource implements TensorSource {
        private final TensorSource base;
        private final Map<String, String> renames = new LinkedHashMap<>();
        private final Set<String> dropped = new LinkedHashSet<>();
        private final Map<String, RawTensor> added = new LinkedHashMap<>();

        EditedSource(TensorSource base) {
            this.base = base;
        }

        EditedSource rename(String from, String to) {
            renames.put(to, from);
            return this;
        }

        EditedSource drop(String name) {
            dropped.add(name);
            return this;
        }

        EditedSource add(RawTensor t) {
            added.put(t.name(), t);
            return this;
        }

        /** Every name gets {@code prefix} in front. */
        EditedSource prefixAll(String prefix) {
            for (String n : base.names()) {
                renames.put(prefix + n, n);
            }
            return this;
        }

        @Override
        public Set<String> names() {
            Set<String> out = new LinkedHashSet<>();
            for (String n : base.names()) {
                if (!renames.containsValue(n) && !dropped.contains(n)) {
                    out.add(n);
                }
            }
            out.addAll(renames.keySet());
            out.removeAll(dropped);
            out.addAll(added.keySet());
            return out;
        }

        @Override
        public RawTensor tensor(String name) {
            if (added.containsKey(name)) {
                return added.get(name);
            }
            RawTensor t = base.tensor(renames.getOrDefault(name, name));
            return new RawTensor(name, t.dtype(), t.shape(), t.data());
        }

        @Override
        public void close() {
            base.close();
        }
    }
}
