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
    /**
     * bfloat16 weights for the decode steps of the semantic and coarse GPTs (half the bytes each
     * step reads), with a 32-bit residual stream, norms and logits; needs bark4j's native bridge
     * on a CPU (falls back to {@link #FP32}, logged, elsewhere). Prompt passes, the fine GPT and
     * EnCodec run in FP32. Tokens equal FP32's wherever the top two logits are not within the
     * bf16 rounding of each other.
     */
    BF16,
    /** 64-bit floats: slow, for conformance checks and debugging (reproduces the original bit-near). */
    FP64
}
