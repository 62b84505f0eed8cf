package io.github.bark4j.jmh;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.model.AttentionKernel;
import io.github.bark4j.internal.model.CodecConfig;
import io.github.bark4j.internal.model.CodecDecoder;
import io.github.bark4j.internal.model.Lstm;
import io.github.bark4j.internal.nativ.NativeOps;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The kernels the speed options swap, alone, at bark-small's sizes, without a model: fast enough
 * for several timed iterations and a tight error.
 *
 * <ul>
 *   <li>{@link #attention}: {@link AttentionKernel#EAGER} vs {@link AttentionKernel#SDPA} for one layer's
 *       attention, B=1, 12 heads, head size 64. Shapes: {@code decode-N} is one cached decoding step (Tq=1,
 *       Tk=N; 257 = the semantic prompt, 1024 = a full context); {@code prefill-887} the causal prompt pass
 *       of a coarse window with a voice-sized history (Tq=Tk=887); {@code fine-1024} the fine model's
 *       non-causal pass over a 1024-frame window.
 *   <li>{@link #convTranspose}: EnCodec 24 kHz's four upsampling layers (weight (Cin, Cout, K), stride s,
 *       bias) at the input lengths one second of audio has (75 frames, then ×8, ×5, ×4): {@code MATMUL}
 *       is the pure-DJL fallback {@link CodecDecoder#convTransposeByMatmul}, {@code NATIVE} libtorch's
 *       conv_transpose1d through the bridge ({@link NativeOps#convTranspose1d}).
 *   <li>{@link #lstm}: EnCodec's 2-layer, 512-unit LSTM over 75 or 750 frames (1 or 10 s of audio): the
 *       reference step loop ({@link CodecDecoder#runLstm}) vs libtorch's fused LSTM
 *       ({@link CodecDecoder#runLstmFused}), which the decoder uses from 32 units up.
 * </ul>
 *
 * Inputs are standard normal and created once per trial; each call's outputs and intermediates are
 * released at once (an {@link NDScope} per call, as the library's stage code uses), so the score
 * includes DJL's per-op overhead the library pays as well. libtorch threads: the engine default (all
 * cores) unless {@code -Dai.djl.pytorch.num_threads} says otherwise.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 8, time = 300, timeUnit = TimeUnit.MILLISECONDS)
public class KernelBenchmark {
    /** bark-small: 12 heads of 64. */
    static final int HEADS = 12;
    static final int HEAD_SIZE = 64;

    @State(Scope.Benchmark)
    public static class AttentionInputs {
        /** decode-257, decode-512, decode-1024 (Tq=1), prefill-887 (causal, Tq=Tk), fine-1024 (non-causal). */
        @Param({"decode-257", "decode-512", "decode-1024", "prefill-887", "fine-1024"})
        public String shape;

        /** EAGER or SDPA. */
        @Param({"EAGER", "SDPA"})
        public String kernel;

        /** FP32, FP16 or FP64 inputs. */
        @Param({"FP32"})
        public String precision;

        NDManager manager;
        NDArray q;
        NDArray k;
        NDArray v;
        boolean causal;
        AttentionKernel impl;

        @Setup(Level.Trial)
        public void make() {
            int tk = Integer.parseInt(shape.substring(shape.indexOf('-') + 1));
            int tq = shape.startsWith("decode-") ? 1 : tk;
            causal = !shape.startsWith("fine-");
            impl = switch (kernel) {
                case "EAGER" -> AttentionKernel.EAGER;
                case "SDPA" -> {
                    requireBridge();
                    yield AttentionKernel.SDPA;
                }
                default -> throw new IllegalArgumentException("kernel " + kernel);
            };
            DataType dtype = switch (Precision.valueOf(precision)) {
                case FP16 -> DataType.FLOAT16;
                case FP32 -> DataType.FLOAT32;
                case FP64 -> DataType.FLOAT64;
                case BF16 -> throw new IllegalArgumentException("BF16 exists only inside the native step");
            };
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(5);
            q = manager.randomNormal(new Shape(1, HEADS, tq, HEAD_SIZE)).toType(dtype, false);
            k = manager.randomNormal(new Shape(1, HEADS, tk, HEAD_SIZE)).toType(dtype, false);
            v = manager.randomNormal(new Shape(1, HEADS, tk, HEAD_SIZE)).toType(dtype, false);
        }

        @TearDown(Level.Trial)
        public void close() {
            manager.close();
        }
    }

    @Benchmark
    public long attention(AttentionInputs in) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return in.impl.attend(in.q, in.k, in.v, in.causal).getShape().get(2);
        }
    }

    @State(Scope.Benchmark)
    public static class ConvInputs {
        /** Cin-Cout-kK-sS-tT: EnCodec 24 kHz's upsampling layers at one second of audio. */
        @Param({"512-256-k16-s8-t75", "256-128-k10-s5-t600", "128-64-k8-s4-t3000", "64-32-k4-s2-t12000"})
        public String layer;

        /** MATMUL (pure-DJL fallback) or NATIVE (libtorch conv_transpose1d via the bridge). */
        @Param({"MATMUL", "NATIVE"})
        public String impl;

        NDManager manager;
        NDArray x;
        NDArray weight;
        NDArray bias;
        int stride;
        long outLength;
        CodecDecoder.TransposedConv kernel;

        @Setup(Level.Trial)
        public void make() {
            String[] f = layer.split("-");
            int cin = Integer.parseInt(f[0]);
            int cout = Integer.parseInt(f[1]);
            int size = Integer.parseInt(f[2].substring(1));
            stride = Integer.parseInt(f[3].substring(1));
            int t = Integer.parseInt(f[4].substring(1));
            outLength = (long) (t - 1) * stride + size;
            kernel = switch (impl) {
                case "MATMUL" -> CodecDecoder.TransposedConv.MATMUL;
                case "NATIVE" -> {
                    requireBridge();
                    yield CodecDecoder.TransposedConv.NATIVE;
                }
                default -> throw new IllegalArgumentException("impl " + impl);
            };
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(6);
            x = manager.randomNormal(new Shape(1, cin, t));
            weight = manager.randomNormal(0, (float) (1 / Math.sqrt(cin * size)), new Shape(cin, cout, size),
                    DataType.FLOAT32);
            bias = manager.randomNormal(new Shape(cout)).muli(0.01);
        }

        @TearDown(Level.Trial)
        public void close() {
            manager.close();
        }
    }

    @Benchmark
    public long convTranspose(ConvInputs in) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            long length = in.kernel.apply(in.x, in.weight, in.bias, in.stride).getShape().get(2);
            if (length != in.outLength) {
                throw new IllegalStateException("Expected " + in.outLength + " output frames, got " + length);
            }
            return length;
        }
    }

    @State(Scope.Benchmark)
    public static class LstmInputs {
        /** Codec frames: 75 = one second of audio, 750 = ten. */
        @Param({"75", "750"})
        public int frames;

        /** STEPS (the reference step loop in DJL ops) or FUSED (libtorch's LSTM through DJL). */
        @Param({"STEPS", "FUSED"})
        public String impl;

        NDManager manager;
        NDArray x;
        CodecDecoder decoder;

        @Setup(Level.Trial)
        public void make() {
            int hidden = 512; // EnCodec 24 kHz: 32 filters × 2^4
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(7);
            java.util.List<NDArray> ih = new java.util.ArrayList<>();
            java.util.List<NDArray> hh = new java.util.ArrayList<>();
            java.util.List<NDArray> b = new java.util.ArrayList<>();
            float scale = (float) (1 / Math.sqrt(hidden));
            for (int l = 0; l < 2; l++) {
                ih.add(manager.randomNormal(0, scale, new Shape(4 * hidden, hidden), DataType.FLOAT32));
                hh.add(manager.randomNormal(0, scale, new Shape(4 * hidden, hidden), DataType.FLOAT32));
                b.add(manager.randomNormal(0, 0.01f, new Shape(4 * hidden), DataType.FLOAT32));
            }
            CodecConfig config = new CodecConfig(24000, 1, 32, 1, new int[] {8, 5, 4, 2}, 7, 7, 3, 2, true, "reflect",
                    2, 2, 1.0, 1024, 128, 128, true, "weight_norm");
            decoder = new CodecDecoder(config, java.util.List.of(), null,
                    new Lstm(ih, hh, b, hidden), java.util.List.of(), null,
                    CodecDecoder.TransposedConv.MATMUL);
            x = manager.randomNormal(new Shape(1, hidden, frames));
        }

        @TearDown(Level.Trial)
        public void close() {
            manager.close();
        }
    }

    /** EnCodec's 2-layer LSTM (512 units) over {@code frames} codec frames: step loop vs fused. */
    @Benchmark
    public long lstm(LstmInputs in) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray y = in.impl.equals("FUSED") ? in.decoder.runLstmFused(in.x) : in.decoder.runLstm(in.x);
            return y.getShape().get(2);
        }
    }

    static void requireBridge() {
        if (!NativeOps.isAvailable()) {
            throw new IllegalStateException("The native bridge is unavailable: " + NativeOps.unavailableReason());
        }
    }
}
