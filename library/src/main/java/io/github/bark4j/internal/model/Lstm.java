package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import java.util.List;

/**
 * A stack of PyTorch LSTM layers (gate order i, f, g, o; {@code biases} hold b_ih + b_hh), run
 * from a zero state over a sequence (T, B, C) → (T, B, H). EnCodec's LSTM and the voice-cloning
 * quantizer's both run here.
 */
public record Lstm(List<NDArray> weightsIh, List<NDArray> weightsHh, List<NDArray> biases, int hidden) {

    /**
     * Step by step, the reference: each layer's input projections are GEMMs over blocks of steps,
     * only h·W_hhᵀ and the gates are computed per step, and each step's temporaries are freed as
     * it ends (a sequence of 500 steps otherwise kept about a dozen arrays per step alive).
     */
    public NDArray runSteps(NDArray seq) {
        long b = seq.getShape().get(1);
        // input projections a block of steps at a time, a few MB each (see PROJECTION_BYTES)
        return runSteps(seq, Math.max(1, PROJECTION_BYTES / (b * 4 * hidden * seq.getDataType().getNumOfBytes())));
    }

    /** {@link #runSteps(NDArray)} with the input projections of {@code block} steps at a time. */
    NDArray runSteps(NDArray seq, long block) {
        NDManager manager = seq.getManager();
        long t = seq.getShape().get(0);
        long b = seq.getShape().get(1);
        NDArray x = seq;
        for (int l = 0; l < weightsIh.size(); l++) {
            NDArray whh = weightsHh.get(l);
            NDArray h = manager.zeros(new Shape(b, hidden), seq.getDataType());
            NDArray c = manager.zeros(new Shape(b, hidden), seq.getDataType());
            NDList outputs = new NDList((int) t);
            NDArray projected = null;
            for (int step = 0; step < t; step++) {
                if (step % block == 0) {
                    if (projected != null) {
                        projected.close();
                    }
                    try (NDArray in = x.get(new NDIndex("{}:{}", step, Math.min(t, step + block)))) {
                        projected = Ops.linear(in, weightsIh.get(l), biases.get(l)); // (block, B, 4H)
                    }
                }
                NDArray nextC;
                NDArray nextH;
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray gates = Ops.linear(h, whh, projected.get(step % block)); // (B, 4H)
                    NDList s = JniUtils.sigmoid(Ops.pt(gates)).split(4, 1); // i, f, (g), o
                    NDArray g = gates.get(new NDIndex(":, {}:{}", 2L * hidden, 3L * hidden)).tanh();
                    nextC = s.get(1).mul(c).addi(s.get(0).muli(g));
                    nextH = s.get(3).mul(nextC.tanh());
                    NDScope.unregister(nextC, nextH);
                }
                c.close();
                if (step == 0) {
                    h.close();
                }
                c = nextC;
                h = nextH;
                outputs.add(h);
            }
            c.close();
            if (projected != null) {
                projected.close();
            }
            if (x != seq) {
                x.close();
            }
            x = NDArrays.stack(outputs, 0);
            outputs.close();
        }
        return x;
    }

    /**
     * Input projections computed at once: 8 MB, 512 steps of the quantizer's 1024 units in FP32.
     * A whole long sequence's would pass glibc's 32 MB mmap limit, and on the 2-core VM this was
     * measured on every fresh mapping that large cost about 5 ms per MB in page faults.
     */
    static final long PROJECTION_BYTES = 8L << 20;

    /**
     * libtorch's fused LSTM. In FP32 libtorch runs it in oneDNN, which on an AMD Zen 5 host
     * returned wrong outputs for many hidden sizes (4-16, 36-48, 80, 100; right for 20-32, 56, 64,
     * 96 and multiples of 32 up to 1024). EnCodec's 128 and 512 units are right there; the
     * voice-cloning quantizer checks it against {@link #runSteps} before it uses it.
     */
    public NDArray runFused(NDArray seq) {
        long b = seq.getShape().get(1);
        int layers = weightsIh.size();
        NDArray zeros = seq.getManager().zeros(new Shape(layers, b, hidden), seq.getDataType());
        NDList params = new NDList();
        for (int l = 0; l < layers; l++) {
            params.add(weightsIh.get(l));
            params.add(weightsHh.get(l));
            params.add(biases.get(l));
            // zeros owned by the call's manager, not the weights' shared one (synchronized attach)
            params.add(seq.getManager().zeros(biases.get(l).getShape(), biases.get(l).getDataType()));
        }
        NDList out = JniUtils.lstm(Ops.pt(seq), new NDList(zeros, zeros), params, true, layers, 0, false, false,
                false);
        return out.get(0);
    }
}
