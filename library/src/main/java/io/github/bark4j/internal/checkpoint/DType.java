package io.github.bark4j.internal.checkpoint;

import ai.djl.ndarray.types.DataType;

/** Element types that may appear in weight and preset files, with their on-disk width. */
public enum DType {
    F64(8),
    F32(4),
    F16(2),
    BF16(2),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    U16(2),
    U32(4),
    U64(8),
    BOOL(1);

    final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    public boolean isInteger() {
        return !isFloatingPoint() && this != BOOL;
    }

    /**
     * The DJL type a tensor of this dtype may be handed to DJL as without crashing the JVM. BF16 and
     * the wide unsigned/16-bit integer types abort DJL's JNI, so they have no direct mapping and must
     * be converted in Java first.
     */
    public DataType djlTypeOrNull() {
        switch (this) {
            case F64:
                return DataType.FLOAT64;
            case F32:
                return DataType.FLOAT32;
            case F16:
                return DataType.FLOAT16;
            case I64:
                return DataType.INT64;
            case I32:
                return DataType.INT32;
            case I8:
                return DataType.INT8;
            case U8:
                return DataType.UINT8;
            case BOOL:
                return DataType.BOOLEAN;
            default:
                return null;
        }
    }
}
