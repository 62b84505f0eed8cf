package io.github.bark4j.internal.cloning;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.PyTorchCheckpoint;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.io.MappedBuffers;
import io.github.bark4j.internal.io.ZipDirectory;
import io.github.bark4j.internal.model.Lstm;
import io.github.bark4j.internal.model.Ops;
import io.github.bark4j.internal.model.Vocabulary;
import io.github.bark4j.internal.model.WeightStore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * The semantic quantizer of gitmylo's bark-voice-cloning-HuBERT-quantizer ({@code CustomTokenizer}):
 * HuBERT features (frames, 768) → Bark semantic tokens, one per frame. A stack of PyTorch LSTM layers
 * (two in every published file) over the frames as one sequence, in version 1 an {@code intermediate}
 * Linear, then the {@code fc} Linear to Bark's 10000 semantic tokens, LogSoftmax and the argmax of
 * each frame.
 *
 * <p>Read from the {@code .pth} file {@code CustomTokenizer.save} writes: a {@code torch.save} state
 * dict (read by the restricted unpickler, never executed) plus a zip member {@code <name>/.info}
 * holding JSON {@code {input_size, hidden_size, output_size, version}}. Files saved before that member
 * existed (the version-0 files on the Hub) lack it; their version follows from whether an
 * {@code intermediate} layer is present. Every width comes from the tensor shapes, and .info must agree.
 * A {@code .safetensors} file with the same tensor names works too (a conversion that needs no pickle
 * reader, and what the benchmarks generate); it has no .info, so its version follows from its keys.
 *
 * <p>Immutable after loading; any number of threads may call {@link #tokens} at once.
 */
public final class SemanticQuantizer implements AutoCloseable {
    /**
     * The most logits computed at once (16 MB: 419 frames in FP32). Those of a 30 s recording at
     * once would be 60 MB, and every fresh mapping that large cost about 5 ms per MB in page faults
     * on the 2-core VM this was measured on.
     */
    static final long LOGITS_BYTES = 16L << 20;

    /** The largest {@code .info} member read (gitmylo writes about 80 bytes). */
    private static final long MAX_INFO_BYTES = 64 << 10;

    private final int version;
    private final int inputSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int outputSize;
    private final DataType dtype;
    private final NDManager manager;
    private final Lstm lstm;
    /** Whether the LSTM runs fused in libtorch (see {@link #fusedIsExact}) rather than step by step. */
    private final boolean fused;
    private final NDArray intermediateWeight;
    private final NDArray intermediateBias;
    private final NDArray fcWeight;
    private final NDArray fcBias;

    private SemanticQuantizer(int version, int inputSize, int hiddenSize, int intermediateSize, int outputSize,
            DataType dtype, NDManager manager, Lstm lstm, boolean fused, NDArray intermediateWeight,
            NDArray intermediateBias, NDArray fcWeight, NDArray fcBias) {
        this.version = version;
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.outputSize = outputSize;
        this.dtype = dtype;
        this.manager = manager;
        this.lstm = lstm;
        this.fused = fused;
        this.intermediateWeight = intermediateWeight;
        this.intermediateBias = intermediateBias;
        this.fcWeight = fcWeight;
        this.fcBias = fcBias;
    }

    /** What a {@code .info} member declares. */
    record Info(int inputSize, int hiddenSize, int outputSize, int version) {}

    /**
     * Loads a quantizer checkpoint computing in {@code dtype} ({@link DataType#FLOAT32} or
     * {@link DataType#FLOAT64}): gitmylo's {@code .pth}, or a {@code .safetensors} file (by its name)
     * holding the same tensors.
     */
    public static SemanticQuantizer load(Path file, DataType dtype) {
        checkDtype(dtype);
        if (isSafetensors(file)) {
            try (TensorSource source = SafetensorsFile.open(file)) {
                return load(file, source, null, dtype);
            }
        }
        Info info = readInfo(file);
        try (TensorSource source = PyTorchCheckpoint.open(file)) {
            return load(file, source, info, dtype);
        }
    }

    /** Whether {@code file} is read as safetensors: its name ends in {@code .safetensors}. */
    static boolean isSafetensors(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".safetensors");
    }

    /**
     * Loads the weights of {@code source} (which the caller keeps), checked against {@code info}
     * where not null; {@code file} names them in errors.
     */
    static SemanticQuantizer load(Path file, TensorSource source, Info info, DataType dtype) {
        checkDtype(dtype);
        NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        try {
            return load(file, source, info, dtype, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static void checkDtype(DataType dtype) {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
            throw new IllegalArgumentException("The quantizer computes in FLOAT32 or FLOAT64, not " + dtype);
        }
    }

    private static SemanticQuantizer load(Path file, TensorSource source, Info info, DataType dtype,
            NDManager manager) {
        Set<String> expected = new LinkedHashSet<>();
        long[] ih0 = shape(file, source, "lstm.weight_ih_l0", expected);
        if (ih0.length != 2 || ih0[0] % 4 != 0 || ih0[0] == 0 || ih0[1] == 0) {
            throw bad(file, "lstm.weight_ih_l0 has shape " + Arrays.toString(ih0)
                    + "; an LSTM's input weights are (4 · hidden, input)");
        }
        int hidden = Math.toIntExact(ih0[0] / 4);
        int input = Math.toIntExact(ih0[1]);
        int layers = 0;
        while (source.contains("lstm.weight_ih_l" + layers)) {
            layers++;
        }
        for (int l = 0; l < layers; l++) {
            requireShape(file, source, "lstm.weight_ih_l" + l, expected, 4L * hidden, l == 0 ? input : hidden);
            requireShape(file, source, "lstm.weight_hh_l" + l, expected, 4L * hidden, hidden);
            requireShape(file, source, "lstm.bias_ih_l" + l, expected, 4L * hidden);
            requireShape(file, source, "lstm.bias_hh_l" + l, expected, 4L * hidden);
        }
        boolean hasIntermediate = source.contains("intermediate.weight");
        int version = hasIntermediate ? 1 : 0;
        int intermediate = 0;
        int fcInput = hidden;
        if (hasIntermediate) {
            long[] s = shape(file, source, "intermediate.weight", expected);
            if (s.length != 2 || s[1] != hidden || s[0] == 0) {
                throw bad(file, "intermediate.weight has shape " + Arrays.toString(s) + ", expected (width, " + hidden
                        + ") after the LSTM's " + hidden + " units");
            }
            intermediate = Math.toIntExact(s[0]);
            requireShape(file, source, "intermediate.bias", expected, intermediate);
            fcInput = intermediate;
        }
        long[] fc = shape(file, source, "fc.weight", expected);
        if (fc.length != 2 || fc[1] != fcInput) {
            throw bad(file, "fc.weight has shape " + Arrays.toString(fc) + ", expected (" + Vocabulary.SEMANTIC_SIZE
                    + ", " + fcInput + ") after the " + (hasIntermediate ? "intermediate layer" : "LSTM"));
        }
        if (fc[0] != Vocabulary.SEMANTIC_SIZE) {
            throw bad(file, "fc.weight has " + fc[0] + " outputs, but a Bark semantic quantizer has one per semantic"
                    + " token (" + Vocabulary.SEMANTIC_SIZE + ")");
        }
        int output = Vocabulary.SEMANTIC_SIZE;
        requireShape(file, source, "fc.bias", expected, output);
        Set<String> unknown = new TreeSet<>(source.names());
        unknown.removeAll(expected);
        if (!unknown.isEmpty()) {
            throw bad(file, "it holds tensors a gitmylo quantizer does not have, e.g. "
                    + unknown.stream().limit(5).toList() + "; is it a CustomTokenizer checkpoint?");
        }
        if (info != null) {
            if (info.version() != version) {
                throw bad(file, "its .info says version " + info.version() + " but the weights are version " + version
                        + (hasIntermediate ? " (they have an intermediate layer)" : " (they have no intermediate layer)"));
            }
            if (info.inputSize() != input || info.hiddenSize() != hidden || info.outputSize() != output) {
                throw bad(file, "its .info declares input " + info.inputSize() + ", hidden " + info.hiddenSize()
                        + " and output " + info.outputSize() + " but the weights have " + input + ", " + hidden
                        + " and " + output);
            }
        }

        WeightStore store = new WeightStore(source, manager, dtype);
        List<NDArray> ih = new ArrayList<>();
        List<NDArray> hh = new ArrayList<>();
        List<NDArray> biases = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            ih.add(store.load("lstm.weight_ih_l" + l, 4L * hidden, l == 0 ? input : hidden));
            hh.add(store.load("lstm.weight_hh_l" + l, 4L * hidden, hidden));
            try (NDArray bi = store.load("lstm.bias_ih_l" + l, 4L * hidden);
                    NDArray bh = store.load("lstm.bias_hh_l" + l, 4L * hidden)) {
                biases.add(bi.add(bh));
            }
        }
        Lstm lstm = new Lstm(List.copyOf(ih), List.copyOf(hh), List.copyOf(biases), hidden);
        NDArray iw = hasIntermediate ? store.load("intermediate.weight", intermediate, hidden) : null;
        NDArray ib = hasIntermediate ? store.load("intermediate.bias", intermediate) : null;
        NDArray fw = store.load("fc.weight", output, fcInput);
        NDArray fb = store.load("fc.bias", output);
        return new SemanticQuantizer(version, input, hidden, intermediate, output, dtype, manager, lstm,
                fusedIsExact(lstm, input, dtype, manager), iw, ib, fw, fb);
    }

    /**
     * Whether libtorch's fused LSTM computes this LSTM right here. It reads the weights once per step
     * with no Java in between: the real quantizer's 500 frames took 0.59 s of CPU with it against
     * 1.10 s with the step loop (classifier included, libtorch on one thread of a busy 2-core host).
     * But in FP32 libtorch hands it to oneDNN, whose LSTM returned wrong outputs (off by 0.02 to 0.3)
     * on an AMD Zen 5 CPU for many hidden sizes (4, 8, 12, 16, 36, 40, 48, 80, 100; right for 20 to
     * 32, 56, 64, 96 and multiples of 32 up to 1024, with no rule found). So in FP32 it is used only
     * when it agrees with the step loop on 16 random frames through these very weights; FP64 (which
     * oneDNN does not take) always agrees.
     */
    static boolean fusedIsExact(Lstm lstm, int input, DataType dtype, NDManager manager) {
        if (dtype == DataType.FLOAT64) {
            return true;
        }
        Random random = new Random(16);
        float[] values = new float[16 * input];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.create(values, new Shape(16, 1, input));
            NDArray steps = lstm.runSteps(x);
            NDArray fusedOut = lstm.runFused(x);
            // a few FP32 roundings apart where right (outputs are bounded by 1); far more where wrong
            return steps.sub(fusedOut).abs().max().getFloat() < 1e-4;
        }
    }

    /** The shape of a tensor the checkpoint must hold, which is then expected. */
    private static long[] shape(Path file, TensorSource source, String key, Set<String> expected) {
        if (!source.contains(key)) {
            throw bad(file, "it lacks tensor '" + key + "'; is it a gitmylo CustomTokenizer checkpoint"
                    + " (e.g. quantifier_hubert_base_ls960_14.pth)?");
        }
        expected.add(key);
        RawTensor t = source.tensor(key);
        MappedBuffers.release(t.data()); // only its shape is needed here
        return t.shape();
    }

    private static void requireShape(Path file, TensorSource source, String key, Set<String> expected, long... shape) {
        long[] actual = shape(file, source, key, expected);
        if (!Arrays.equals(actual, shape)) {
            throw bad(file, "tensor '" + key + "' has shape " + Arrays.toString(actual) + " but the other weights imply "
                    + Arrays.toString(shape));
        }
    }

    /**
     * The {@code <name>/.info} member, or null where the file has none. gitmylo's loader takes any
     * member whose name ends in {@code /.info}; more than one is ambiguous and refused.
     */
    static Info readInfo(Path file) {
        try (FileChannel channel = TensorSource.openReadOnly(file)) {
            ZipDirectory zip = ZipDirectory.read(file, channel);
            ZipDirectory.Entry found = null;
            for (ZipDirectory.Entry e : zip.entries().values()) {
                if (e.name().endsWith("/.info")) {
                    if (found != null) {
                        throw bad(file, "it has two .info members, " + found.name() + " and " + e.name());
                    }
                    found = e;
                }
            }
            if (found == null) {
                return null;
            }
            if (found.size() > MAX_INFO_BYTES) {
                throw bad(file, "its " + found.name() + " member is " + found.size() + " bytes, too large for the"
                        + " JSON of four numbers");
            }
            return parseInfo(file, new String(PyTorchCheckpoint.readSmallEntry(file, zip, found), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelLoadException("Cannot read quantizer " + file + ": " + e.getMessage(), e);
        }
    }

    static Info parseInfo(Path file, String json) {
        try {
            JsonElement root = JsonParser.parseString(json);
            if (!root.isJsonObject()) {
                throw bad(file, "its .info is not a JSON object: " + json);
            }
            JsonObject o = root.getAsJsonObject();
            Info info = new Info(infoInt(file, o, "input_size"), infoInt(file, o, "hidden_size"),
                    infoInt(file, o, "output_size"), infoInt(file, o, "version"));
            if (info.version() != 0 && info.version() != 1) {
                throw bad(file, "its .info says version " + info.version() + "; only versions 0 and 1 exist");
            }
            return info;
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | NumberFormatException e) {
            throw new ModelLoadException("Malformed quantizer " + file + ": its .info is not valid JSON: "
                    + e.getMessage(), e);
        }
    }

    private static int infoInt(Path file, JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull() || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw bad(file, "its .info lacks the integer '" + key + "'");
        }
        double d = e.getAsDouble();
        if (d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
            throw bad(file, "its .info field '" + key + "' is " + e + ", not a non-negative integer");
        }
        return (int) d;
    }

    private static ModelLoadException bad(Path file, String what) {
        return new ModelLoadException("Not a usable semantic quantizer " + file + ": " + what);
    }

    /** 0: LSTM then fc; 1: LSTM, intermediate, fc. */
    public int version() {
        return version;
    }

    /** Width of the features it takes (HuBERT's hidden size). */
    public int inputSize() {
        return inputSize;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    /** Width of the intermediate layer (version 1), 0 without one. */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** Classes: Bark's semantic tokens. */
    public int outputSize() {
        return outputSize;
    }

    public DataType dtype() {
        return dtype;
    }

    /** Whether the LSTM runs in libtorch's fused kernel (see {@link #fusedIsExact}). */
    public boolean fusedLstm() {
        return fused;
    }

    /**
     * The semantic token of every frame of {@code features} (frames, {@link #inputSize()}), any
     * floating dtype (converted to the quantizer's). The frames are one sequence.
     *
     * @throws InvalidInputException when the features are not (frames ≥ 1, inputSize)
     */
    public int[] tokens(NDArray features) {
        return tokens(features, Math.max(1, LOGITS_BYTES / ((long) outputSize * dtype.getNumOfBytes())), fused);
    }

    /**
     * {@link #tokens(NDArray)} with the classifier over {@code rows} frames at a time and the LSTM
     * fused or step by step.
     */
    int[] tokens(NDArray features, long rows, boolean fusedLstm) {
        try (NDManager m = features.getManager().newSubManager()) {
            NDArray h = lastHidden(m, features, fusedLstm);
            long frames = h.getShape().get(0);
            int[] out = new int[Math.toIntExact(frames)];
            for (long a = 0; a < frames; a += rows) {
                long b = Math.min(frames, a + rows);
                try (NDArray part = h.get(new NDIndex("{}:{}", a, b));
                        NDArray logProbs = logProbabilities(part);
                        NDArray best = logProbs.argMax(1)) {
                    long[] ids = best.toLongArray();
                    for (int i = 0; i < ids.length; i++) {
                        out[(int) a + i] = Math.toIntExact(ids[i]);
                    }
                }
            }
            return out;
        }
    }

    /** The log-probabilities (frames, 10000) of all frames at once. */
    NDArray logProbabilities(NDManager m, NDArray features) {
        return logProbabilities(lastHidden(m, features, fused));
    }

    /** What the classifier reads: the LSTM's output, through the intermediate layer in version 1. */
    private NDArray lastHidden(NDManager m, NDArray features, boolean fusedLstm) {
        Shape s = features.getShape();
        if (s.dimension() != 2 || s.get(0) < 1 || s.get(1) != inputSize) {
            throw new InvalidInputException("The semantic quantizer takes features of shape (frames, " + inputSize
                    + ") from HuBERT base, got " + s + "; is the HuBERT's hidden size " + inputSize + "?");
        }
        NDArray x = features.get(m, new NDIndex(":"));
        if (x.getDataType() != dtype) {
            x = x.toType(dtype, false);
        }
        NDArray seq = x.expandDims(1); // one sequence of (frames, 1, input)
        NDArray h = (fusedLstm ? lstm.runFused(seq) : lstm.runSteps(seq)).squeeze(1);
        return intermediateWeight == null ? h : ClonerMatmul.linear(h, intermediateWeight, intermediateBias);
    }

    /**
     * LogSoftmax of the logits, as gitmylo's forward returns it: the argmax is taken after it, as
     * there, so that two logits that round to the same log-probability tie the same way (the first
     * wins).
     */
    private NDArray logProbabilities(NDArray hidden) {
        try (NDArray logits = ClonerMatmul.linear(hidden, fcWeight, fcBias)) {
            return JniUtils.logSoftmax(Ops.pt(logits), 1, dtype);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
