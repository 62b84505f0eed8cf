package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.TensorSource;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Dtype conversion into DJL (BF16 widened in Java) and the shape / unknown-key checks. */
class WeightStoreTest {

    private static TensorSource source(Map<String, RawTensor> tensors) {
        return new TensorSource() {
            @Override
            public Set<String> names() {
                return tensors.keySet();
            }

            @Override
            public RawTensor tensor(String name) {
                return tensors.get(name);
            }

            @Override
            public void close() {}
        };
    }

    @Test
    void everyFloatTypeArrivesAsTheComputeType() {
        float[] values = {1.5f, -2.25f, 0.0078125f, 3e4f, -0.0f, 1e-3f};
        ByteBuffer f32 = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer bf16 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer f64 = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            f32.putFloat(v);
            bf16.putShort((short) (Float.floatToIntBits(v) >>> 16)); // truncated to bfloat16
            f64.putDouble(v);
        }
        Map<String, RawTensor> t = new LinkedHashMap<>();
        t.put("a", new RawTensor("a", DType.F32, new long[] {2, 3}, f32.flip()));
        t.put("b", new RawTensor("b", DType.BF16, new long[] {2, 3}, bf16.flip()));
        t.put("c", new RawTensor("c", DType.F64, new long[] {2, 3}, f64.flip()));
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (DataType target : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
                WeightStore store = new WeightStore(source(t), m, target);
                NDArray a = store.load("a", 2, 3);
                NDArray b = store.load("b", 2, 3);
                NDArray c = store.load("c", 2, 3);
                assertEquals(target, b.getDataType());
                double[] av = Tensors.toDoubles(a);
                double[] bv = Tensors.toDoubles(b);
                double[] cv = Tensors.toDoubles(c);
                for (int i = 0; i < values.length; i++) {
                    assertEquals(values[i], av[i], 0.0);
                    assertEquals(values[i], cv[i], 0.0);
                    float truncated = Float.intBitsToFloat(Float.floatToIntBits(values[i]) & 0xFFFF0000);
                    assertEquals(truncated, bv[i], 0.0, "bf16 element " + i);
                }
                store.checkNoUnknownKeys(k -> false);
            }
        }
    }

    @Test
    void wrongShapeMissingKeyAndUnknownKeysAreReported() {
        ByteBuffer f32 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, RawTensor> t = new LinkedHashMap<>();
        t.put("w", new RawTensor("w", DType.F32, new long[] {4}, f32));
        t.put("stray", new RawTensor("stray", DType.F32, new long[] {4}, f32));
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            WeightStore store = new WeightStore(source(t), m, DataType.FLOAT32);
            ModelLoadException shape = assertThrows(ModelLoadException.class, () -> store.load("w", 2, 2));
            assertTrue(shape.getMessage().contains("[4]") && shape.getMessage().contains("[2, 2]"), shape.getMessage());
            ModelLoadException missing = assertThrows(ModelLoadException.class, () -> store.load("absent", 4));
            assertTrue(missing.getMessage().contains("absent"), missing.getMessage());
            assertArrayEquals(new long[] {4}, store.load("w", 4).getShape().getShape());
            ModelLoadException unknown = assertThrows(ModelLoadException.class, () -> store.checkNoUnknownKeys(k -> false));
            assertTrue(unknown.getMessage().contains("stray"), unknown.getMessage());
            store.checkNoUnknownKeys(k -> k.equals("stray"));
        }
    }
}
