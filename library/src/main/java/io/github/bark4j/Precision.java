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
     * bfloat16 matmul weights for the three GPTs, and bfloat16 token embedding tables for the
     * semantic and coarse ones: the decode steps read them (half the bytes per step) with FP32
     * activations and accumulation, and the prompt passes, coarse re-prefills and fine passes run
     * a bfloat16 GEMM with FP32 accumulation (about twice the FP32 FLOP rate on CPUs with AVX-512
     * BF16: bark4j's own there, libtorch's elsewhere). The
     * FP32 copies are freed (a third less resident memory). The KV cache is bfloat16 too (half
     * the bytes each step's attention reads), and on CPUs with AVX-512 BF16 the passes' attention
     * rounds q, k, v and its probabilities to bfloat16 (FP32 scores, softmax and accumulation). The
     * residual stream, norms and logits stay 32-bit, and EnCodec runs in FP32. Needs bark4j's
     * native bridge and the native decode step on a CPU (falls back to {@link #FP32}, logged,
     * elsewhere). Tokens equal FP32's wherever the top two logits are not within the bf16
     * rounding of each other.
     */
    BF16,
    /** 64-bit floats: slow, for conformance checks and debugging (reproduces the original bit-near). */
    FP64
}
