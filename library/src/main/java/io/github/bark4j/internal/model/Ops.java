package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The few libtorch ops bark4j calls through DJL's JNI directly, because DJL's generic API either lacks
 * them or loses precision on the way (e.g. a float epsilon for layer norm).
 */
public final class Ops {
    private Ops() {}

    public static PtNDArray pt(NDArray a) {
        return (PtNDArray) a;
    }

    /** {@code x · Wᵀ + b} with W in PyTorch (out, in) layout; {@code bias} may be null. */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return JniUtils.linear(pt(x), pt(weight), bias == null ? null : pt(bias));
    }

    /** Layer norm over the last dimension; Bark's causal models have no beta, so zeros stand in. */
    public static NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta, double eps) {
        long h = x.getShape().get(x.getShape().dimension() - 1);
        if (beta == null) {
            try (NDArray zeros = x.getManager().zeros(new Shape(h), x.getDataType())) {
                return JniUtils.layerNorm(pt(x), new Shape(h), pt(gamma), pt(zeros), eps);
            }
        }
        return JniUtils.layerNorm(pt(x), new Shape(h), pt(gamma), pt(beta), eps);
    }

    /** Row lookup: ids of any shape (int64) → ids.shape + [hidden]. */
    static NDArray embedding(NDArray ids, NDArray table) {
        return JniUtils.embedding(pt(ids), pt(table), false);
    }

    /** Exact (erf) GELU, as {@code nn.GELU()} computes it. */
    public static NDArray gelu(NDArray x) {
        return JniUtils.gelu(pt(x));
    }

    static NDArray elu(NDArray x) {
        return JniUtils.elu(pt(x), 1.0);
    }

    /** 1-D convolution without padding: input (B, Cin, T), weight (Cout, Cin, K). */
    static NDArray conv1d(NDArray x, NDArray weight, NDArray bias, int stride, int dilation) {
        return JniUtils.convolution(pt(x), pt(weight), bias == null ? null : pt(bias),
                new Shape(stride), new Shape(0), new Shape(dilation), 1);
    }

    /**
     * Grouped 1-D convolution with zero padding on both sides: input (B, Cin, T), weight
     * (Cout, Cin / groups, K).
     */
    public static NDArray groupedConv1d(NDArray x, NDArray weight, NDArray bias, int padding, int groups) {
        return JniUtils.convolution(pt(x), pt(weight), bias == null ? null : pt(bias),
                new Shape(1), new Shape(padding), new Shape(1), groups);
    }
}
