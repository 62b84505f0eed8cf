package io.github.bark4j;

/** Floating-point width of weights and activations. */
public enum Precision {
    /** 32-bit floats: the default. */
    FP32,
    /** 64-bit floats: slow, for conformance checks and debugging (reproduces the original bit-near). */
    FP64
}
