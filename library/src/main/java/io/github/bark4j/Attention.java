package io.github.bark4j;

/** How the GPTs compute attention. Both give the same result within floating-point rounding. */
public enum Attention {
    /** Explicit scores, mask and softmax in DJL ops: the reference path. */
    EAGER,
    /**
     * libtorch's fused scaled_dot_product_attention through bark4j's native bridge. Falls back to
     * {@link #EAGER} (logged once) where the bridge cannot load.
     */
    SDPA
}
