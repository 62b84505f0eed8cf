package io.github.bark4j.internal.checkpoint;

/** IEEE 754 binary16 conversion (Java 17 has no Float.float16ToFloat). */
public final class HalfFloat {
    private HalfFloat() {}

    static float toFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h >>> 15) << 31;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) { // inf or nan
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
