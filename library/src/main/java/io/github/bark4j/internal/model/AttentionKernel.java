package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;

import io.github.bark4j.internal.nativ.NativeOps;

/**
 * Scaled dot-product attention over heads: q (B, heads, Tq, hd), k and v (B, heads, Tk, hd) → (B,
 * heads, Tq, hd). A causal kernel aligns the mask bottom-right: query i sees keys 0..Tk-Tq+i, which is
 * what decoding with a KV cache needs.
 */
public interface AttentionKernel {

    NDArray attend(NDArray q, NDArray k, NDArray v, boolean causal);

    /**
     * The reference: explicit scores, additive −∞ mask, softmax, weighted sum. Half-precision inputs
     * are computed in 32-bit and rounded back: summing 1024 half-precision products drifts by
     * percents on CPU.
     */
    AttentionKernel EAGER = (q, k, v, causal) -> {
        if (q.getDataType() == ai.djl.ndarray.types.DataType.FLOAT16) {
            ai.djl.ndarray.types.DataType f32 = ai.djl.ndarray.types.DataType.FLOAT32;
            return AttentionKernel.eager(q.toType(f32, false), k.toType(f32, false), v.toType(f32, false), causal)
                    .toType(q.getDataType(), false);
        }
        return eager(q, k, v, causal);
    };

    private static NDArray eager(NDArray q, NDArray k, NDArray v, boolean causal) {
        long tq = q.getShape().get(2);
        long tk = k.getShape().get(2);
        double scale = 1.0 / Math.sqrt(q.getShape().get(3));
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).muli(scale);
        if (causal && tq > 1) {
            scores = scores.addi(causalMask(q, (int) tq, (int) tk));
        }
        return scores.softmax(-1).matMul(v);
    }

    /** libtorch's fused scaled_dot_product_attention through the native bridge. */
    AttentionKernel SDPA = NativeOps::scaledDotProductAttention;

    /** Additive mask (Tq, Tk): 0 where query i may see key j (j ≤ Tk − Tq + i), −∞ elsewhere. */
    static NDArray causalMask(NDArray like, int tq, int tk) {
        float[] mask = new float[tq * tk];
        int offset = tk - tq;
        for (int i = 0; i < tq; i++) {
            for (int j = offset + i + 1; j < tk; j++) {
                mask[i * tk + j] = Float.NEGATIVE_INFINITY;
            }
        }
        NDArray m = like.getManager().create(mask, new ai.djl.ndarray.types.Shape(tq, tk));
        return m.getDataType() == like.getDataType() ? m : m.toType(like.getDataType(), false);
    }
}
