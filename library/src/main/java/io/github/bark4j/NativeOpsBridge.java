package io.github.bark4j;

import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of the bark4j native bridge, generated and compiled by JavaCPP during the
 * Maven build ({@code src/main/cpp/bark4j_native_ops.h}). Arguments and results are raw DJL
 * tensor handles ({@code at::Tensor*}); every returned handle is a new heap tensor the caller
 * must wrap in a {@code PtNDArray}. C++ exceptions come back as {@link RuntimeException}.
 *
 * <p>Only {@link NativeOps} uses this class, after it has checked that the bridge can be loaded.
 * Keep it free of DJL types so JavaCPP's builder can load it on its own.
 */
@Platform(value = "linux-x86_64", compiler = "cpp17", include = "bark4j_native_ops.h")
final class NativeOpsBridge {

    private NativeOpsBridge() {}

    @Name("bark4j_sdpa")
    static native long sdpa(long query, long key, long value, long mask, boolean causal);

    @Name("bark4j_conv_transpose1d")
    static native long convTranspose1d(
            long input,
            long weight,
            long bias,
            long stride,
            long padding,
            long outputPadding,
            long groups,
            long dilation);

    @Name("bark4j_multinomial")
    static native long multinomial(long probs, long numSamples, boolean replacement, long seed);
}
