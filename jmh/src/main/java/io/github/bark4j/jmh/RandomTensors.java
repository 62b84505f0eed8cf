package io.github.bark4j.jmh;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.TensorSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Named float32 tensors with random values, generated on demand from a seed and the tensor name (the
 * safetensors writer asks for each tensor twice: sizes for the header, then the data), so a model of
 * hundreds of MB is written without holding it. Values stay in the normal float range: no denormals
 * or NaNs that would distort timings.
 */
class RandomTensors implements TensorSource {
    /** Bark's initializer range: the standard deviation of {@link Init#NORMALISH} weights. */
    static final double STD = 0.02;

    /** How a tensor is filled. */
    enum Init {
        /** Uniform, standard deviation {@link #STD}. */
        NORMALISH,
        /** Uniform in ±1/√hidden, hidden = first dimension / 4 (PyTorch's LSTM initialisation). */
        LSTM,
        /** Uniform in ±1/√fan-in, fan-in = the product of the dimensions after the first (PyTorch's Linear, Conv). */
        FAN_IN,
        ONES,
        ZEROS
    }

    private record Spec(long[] shape, Init init) {}

    private final Map<String, Spec> specs = new LinkedHashMap<>();
    private final long seed;

    RandomTensors(long seed) {
        this.seed = seed;
    }

    final void put(String name, Init init, long... shape) {
        specs.put(name, new Spec(shape, init));
    }

    final long parameterCount() {
        long n = 0;
        for (Spec s : specs.values()) {
            n += RawTensor.numElements(s.shape());
        }
        return n;
    }

    @Override
    public final Set<String> names() {
        return specs.keySet();
    }

    @Override
    public final RawTensor tensor(String name) {
        Spec s = specs.get(name);
        if (s == null) {
            throw new ModelLoadException("No random tensor '" + name + "'");
        }
        int n = Math.toIntExact(RawTensor.numElements(s.shape()));
        ByteBuffer data = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        switch (s.init()) {
            case ONES -> {
                for (int i = 0; i < n; i++) {
                    data.putFloat(i * 4, 1f);
                }
            }
            case ZEROS -> { } // allocateDirect zero-fills
            case NORMALISH -> fillUniform(data, n, name, (float) (STD * Math.sqrt(3)));
            case LSTM -> fillUniform(data, n, name, (float) (1 / Math.sqrt(s.shape()[0] / 4.0)));
            case FAN_IN -> fillUniform(data, n, name, (float) (1 / Math.sqrt((double) n / s.shape()[0])));
        }
        return new RawTensor(name, DType.F32, s.shape(), data);
    }

    /** Uniform in [-a, a) from a xorshift stream seeded by the name: fast and reproducible. */
    private void fillUniform(ByteBuffer data, int n, String name, float a) {
        long x = seed * 0x9E3779B97F4A7C15L + name.hashCode();
        if (x == 0) {
            x = 1;
        }
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            float u = (x >>> 40) * 0x1.0p-24f; // [0, 1)
            data.putFloat(i * 4, (2 * u - 1) * a);
        }
    }

    @Override
    public void close() {}
}
