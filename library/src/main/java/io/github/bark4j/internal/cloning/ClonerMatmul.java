package io.github.bark4j.internal.cloning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;

import io.github.bark4j.internal.model.Ops;
import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeOps;

/**
 * {@code x · Wᵀ + b} for the cloning models' large FP32 matmuls (HuBERT's feature encoder and
 * transformer, the quantizer's classifier): the native bridge's AVX-512 GEMM
 * ({@link NativeKernels#gemmF32}) where it runs, libtorch's {@code linear} elsewhere (FP64, no
 * bridge, no AVX-512, a non-contiguous operand, or a product too small to be worth the call).
 *
 * <p>Why: libtorch 2.7.1's FP32 linear is MKL's sgemm, whose AMD code path stays on AVX2. On the
 * 2-core Zen 5 VM this was measured on, at HuBERT base's shapes (500 frames × 768 → 2304, 3072 and
 * back, and the feature encoder's 16 000 × 1536 → 512), it ran at 40-85 GFLOP/s against the bridge's
 * 100-200 GFLOP/s, best of 20 on both cores of a loaded host. The two differ only in the FP32
 * rounding of the summation order (each output of the bridge's GEMM is one FMA chain in k order).
 */
final class ClonerMatmul {
    /** Below this many multiply-adds libtorch's call is as fast and skips the packing of W. */
    static final long MIN_MACS = 1L << 20;

    private ClonerMatmul() {}

    /** {@code x · Wᵀ + bias} with W (out, in) in PyTorch's layout; x is 2-D; bias may be null. */
    static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (!usesKernel(x, weight)) {
            return Ops.linear(x, weight, bias);
        }
        Shape xs = x.getShape();
        NDArray y = x.getManager().create(new Shape(xs.get(0), weight.getShape().get(0)), DataType.FLOAT32);
        if (!NativeKernels.gemmF32(x, weight, y)) { // no AVX-512 after all
            y.close();
            return Ops.linear(x, weight, bias);
        }
        if (bias != null) {
            y.addi(bias);
        }
        return y;
    }

    /** Whether {@link #linear} hands this product to the bridge's GEMM. */
    static boolean usesKernel(NDArray x, NDArray weight) {
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        return NativeOps.isAvailable() && x.getDataType() == DataType.FLOAT32
                && weight.getDataType() == DataType.FLOAT32 && xs.dimension() == 2 && ws.dimension() == 2
                && xs.get(0) * ws.get(0) * ws.get(1) >= MIN_MACS && x.getDevice().equals(weight.getDevice())
                && x.getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU)
                && NativeKernels.Contiguity.isContiguous((PtNDArray) x)
                && NativeKernels.Contiguity.isContiguous((PtNDArray) weight);
    }
}
