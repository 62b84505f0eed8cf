package io.github.bark4j.internal.checkpoint;

import io.github.bark4j.ModelLoadException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as it lies in a file: element type, shape and little-endian bytes (often a slice of a
 * memory-mapped file). Nothing is copied until a caller asks for values.
 */
public record RawTensor(String name, DType dtype, long[] shape, ByteBuffer data) {

    public RawTensor {
        // a whole buffer is kept as it is (a fresh mapping stays one, so MappedBuffers can unmap it)
        if (data.position() != 0 || data.limit() != data.capacity()) {
            data = data.slice();
        }
        data = data.order(ByteOrder.LITTLE_ENDIAN);
        long elements = numElements(shape);
        long expected = elements > Long.MAX_VALUE / dtype.bytes ? -1 : elements * dtype.bytes;
        if (expected != data.remaining()) {
            throw new ModelLoadException(
                    "Tensor '" + name + "' has " + data.remaining() + " bytes but shape "
                            + Arrays.toString(shape) + " of " + dtype + " needs " + expected);
        }
    }

    public static long numElements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new ModelLoadException("Negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long numElements() {
        return numElements(shape);
    }

    public int rank() {
        return shape.length;
    }

    /** All values widened to float. Integer types are converted exactly where they fit. */
    public float[] toFloatArray() {
        int n = Math.toIntExact(numElements());
        float[] out = new float[n];
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            out[i] = (float) readDouble(b, i);
        }
        return out;
    }

    /** All values as long; only for integer and bool tensors (voice presets, token arrays). */
    public long[] toLongArray() {
        if (dtype.isFloatingPoint()) {
            throw new ModelLoadException("Tensor '" + name + "' is " + dtype + ", expected integers");
        }
        int n = Math.toIntExact(numElements());
        long[] out = new long[n];
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            out[i] = readLong(b, i);
        }
        return out;
    }

    private long readLong(ByteBuffer b, int i) {
        switch (dtype) {
            case I64:
                return b.getLong(i * 8);
            case U64: {
                long v = b.getLong(i * 8);
                if (v < 0) {
                    throw new ModelLoadException("Tensor '" + name + "' holds a uint64 above 2^63");
                }
                return v;
            }
            case I32:
                return b.getInt(i * 4);
            case U32:
                return Integer.toUnsignedLong(b.getInt(i * 4));
            case I16:
                return b.getShort(i * 2);
            case U16:
                return Short.toUnsignedInt(b.getShort(i * 2));
            case I8:
                return b.get(i);
            case U8:
            case BOOL:
                return Byte.toUnsignedInt(b.get(i));
            default:
                throw new IllegalStateException(dtype.toString());
        }
    }

    private double readDouble(ByteBuffer b, int i) {
        switch (dtype) {
            case F64:
                return b.getDouble(i * 8);
            case F32:
                return b.getFloat(i * 4);
            case F16:
                return HalfFloat.toFloat(b.getShort(i * 2));
            case BF16:
                // bfloat16 is the upper half of an IEEE float32
                return Float.intBitsToFloat((b.getShort(i * 2) & 0xFFFF) << 16);
            default:
                return readLong(b, i);
        }
    }
}
