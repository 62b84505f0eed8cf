package io.github.bark4j;

/** Floating-point width of weights and activations. */
public enum Precision {
    /** 32-bit floats: the default. */
    FP32,
    /**
     * 16-bit floats for the GPTs (weights and activations); logits are sampled in 64-bit and the
     * EnCodec decoder stays 32-bit. The fast path on a GPU; on a CPU it works but is much slower than
     * FP32.
     */
    FP16,
    /** 64-bit floats: slow, for conformance checks and debugging (reproduces the original bit-near). */
    FP64
}
