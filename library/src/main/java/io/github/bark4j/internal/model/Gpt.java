package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;

/**
 * One nanoGPT-style transformer serving all three Bark stages: pre-LayerNorm blocks, fused q|k|v
 * projection, exact GELU MLP, learned absolute positions. Causal (semantic, coarse) with an optional
 * KV cache, or non-causal (fine) over whole windows of codebook frames. Stateless: the mutable decode
 * state lives in {@link KvCache}.
 */
public final class Gpt {
    static final double LAYER_NORM_EPS = 1e-5;

    private final GptConfig config;
    private final GptWeights weights;
    private final AttentionKernel attention;
    /** The native decode step and passes over these same weights, or null for the Java path. */
    private final NativeGpt nativeStep;
    /** bfloat16 copies of the matmul weights that every matmul uses ({@link Precision#BF16}), or null. */
    private final Bf16Matmuls bf16;

    public Gpt(GptConfig config, GptWeights weights, AttentionKernel attention) {
        this(config, weights, attention, null, null);
    }

    private Gpt(GptConfig config, GptWeights weights, AttentionKernel attention, NativeGpt nativeStep,
            Bf16Matmuls bf16) {
        this.config = config;
        this.weights = weights;
        this.attention = attention;
        this.nativeStep = nativeStep;
        this.bf16 = bf16;
    }

    public GptConfig config() {
        return config;
    }

    public GptWeights weights() {
        return weights;
    }

    public AttentionKernel attention() {
        return attention;
    }

    Gpt withAttention(AttentionKernel kernel) {
        return new Gpt(config, weights, kernel, nativeStep, bf16);
    }

    /**
     * The same model whose decode steps (and, with SDPA, whole passes) run in {@code step}, built
     * over these weights; in Java for null.
     */
    Gpt withNativeStep(NativeGpt step) {
        return new Gpt(config, weights, attention, step, bf16);
    }

    /** The same model with every matmul on {@code matmuls}' bfloat16 weights, or in the weights' dtype for null. */
    Gpt withBf16Matmuls(Bf16Matmuls matmuls) {
        return new Gpt(config, weights, attention, nativeStep, matmuls);
    }

    /** The bfloat16 matmul weights in use, or null. */
    Bf16Matmuls bf16Matmuls() {
        return bf16;
    }

    /** The native decode step in use, or null. */
    NativeGpt nativeStep() {
        return nativeStep;
    }

    /**
     * One cached decode step of a causal model: token {@code ids[r]} of every row r at position
     * {@code cache.length()}; appends to the cache.
     *
     * @return logits of vocabulary entries [from, to) of every row, row-major (rows × (to − from))
     */
    public double[] decode(NDManager manager, long[] ids, KvCache cache, int from, int to) {
        if (nativeStep != null) {
            return nativeStep.step(ids, cache, from, to);
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x = embed(Tensors.ids(manager, ids, ids.length, 1));
            NDArray logits = forwardCausal(x, cache, true).get(new NDIndex(":, {}:{}", from, to));
            return Tensors.toDoubles(logits);
        }
    }

    /**
     * A greedy decode step: like {@link #decode}, but returns each row's argmax over vocabulary
     * entries [from, to) (relative to {@code from}, the first of equal maxima). The native step
     * computes it in the bridge and sends back one int per row instead of the logits.
     */
    public int[] decodeArgmax(NDManager manager, long[] ids, KvCache cache, int from, int to) {
        if (nativeStep != null) {
            return nativeStep.stepArgmax(ids, cache, from, to);
        }
        double[] logits = decode(manager, ids, cache, from, to);
        int width = to - from;
        int[] best = new int[ids.length];
        for (int r = 0; r < ids.length; r++) {
            best[r] = Logits.argmax(logits, r * width, (r + 1) * width);
        }
        return best;
    }

    /** Token embeddings of a causal model: ids (B, T) int64 → (B, T, H), in the residual dtype. */
    public NDArray embed(NDArray ids) {
        return embed(ids, weights.inputEmbeddings().get(0));
    }

    /** Rows of one input embedding table, from its bfloat16 copy where the model has one. */
    private NDArray embed(NDArray ids, NDArray table) {
        if (bf16 != null && bf16.holdsEmbedding(table)) {
            return bf16.embed(ids, table);
        }
        return toResidual(Ops.embedding(ids, table));
    }

    /**
     * The residual stream's dtype: the norms' dtype, which is 32-bit even when matmuls run in 16-bit
     * (mixed precision), else the model's own.
     */
    private NDArray toResidual(NDArray x) {
        return x.getDataType() == weights.finalNormWeight().getDataType() ? x
                : x.toType(weights.finalNormWeight().getDataType(), false);
    }

    /**
     * {@code x · Wᵀ + b}: the one place a matmul is chosen. With bfloat16 weights on the bridge's
     * bfloat16 paths (result FP32), otherwise computed in W's dtype.
     */
    private NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (bf16 != null) {
            return bf16.linear(x, weight, bias);
        }
        if (x.getDataType() != weight.getDataType()) {
            x = x.toType(weight.getDataType(), false);
        }
        return Ops.linear(x, weight, bias);
    }

    /**
     * Runs a causal model on input embeddings (B, T, H) placed after the cached positions, appending
     * their keys and values to {@code cache} (which may be null for a cache-free full pass).
     *
     * @return logits (B, V) of the last position when {@code lastOnly}, else (B, T, V)
     */
    public NDArray forwardCausal(NDArray inputEmbeds, KvCache cache, boolean lastOnly) {
        if (!config.isCausal()) {
            throw new IllegalStateException(config.name() + " is not a causal model");
        }
        int past = cache == null ? 0 : cache.length();
        int t = (int) inputEmbeds.getShape().get(1);
        if (past + t > config.blockSize()) {
            throw new IllegalArgumentException("Sequence of " + (past + t) + " positions exceeds block size "
                    + config.blockSize());
        }
        NDArray x = toResidual(inputEmbeds).add(positions(inputEmbeds.getManager(), past, t));
        if (nativePasses() && past == 0) {
            NDArray normed = nativeStep.pass(x, cache, lastOnly);
            return linear(normed, weights.heads().get(0), null);
        }
        for (int i = 0; i < config.numLayers(); i++) {
            x = scopedBlock(x, weights.layers().get(i), cache, i, past);
        }
        if (cache != null) {
            cache.advance(t);
        }
        if (lastOnly) {
            x = x.get(new NDIndex(":, -1, :"));
        }
        return logits(x, 0);
    }

    /**
     * Runs the fine model on codebook frames (B, T, nCodesTotal) int64 to predict codebook
     * {@code codebook}: the input is the sum of the embeddings of codebooks 0..codebook (including
     * the one being predicted, whose current values feed its own prediction, as in Bark).
     *
     * @return logits (B, T, V)
     */
    public NDArray forwardFine(NDArray codes, int codebook) {
        if (config.isCausal()) {
            throw new IllegalStateException(config.name() + " is not the fine model");
        }
        if (codebook < config.nCodesGiven() || codebook >= config.nCodesTotal()) {
            throw new IllegalArgumentException("Fine model predicts codebooks " + config.nCodesGiven() + ".."
                    + (config.nCodesTotal() - 1) + ", not " + codebook);
        }
        int t = (int) codes.getShape().get(1);
        if (t > config.blockSize()) {
            throw new IllegalArgumentException("Fine window of " + t + " frames exceeds block size "
                    + config.blockSize());
        }
        // summed in place, each table's rows freed once added: up to 8 tables and 7 sums of a 1024-frame
        // window (3 MB each in FP32) would otherwise all live until the caller's scope closes, at the
        // generation's peak; the same additions in the same order, so the same values
        NDArray x = null;
        for (int i = 0; i <= codebook; i++) {
            NDArray e;
            try (NDArray ids = codes.get(new NDIndex(":, :, {}", i))) {
                e = embed(ids, weights.inputEmbeddings().get(i));
            }
            if (x == null) {
                x = e;
            } else {
                x.addi(e);
                e.close();
            }
        }
        try (NDArray positions = positions(codes.getManager(), 0, t)) {
            x.addi(positions);
        }
        if (nativePasses()) {
            return linear(nativeStep.pass(x, null, false), weights.heads().get(codebook - config.nCodesGiven()), null);
        }
        for (int i = 0; i < config.numLayers(); i++) {
            x = scopedBlock(x, weights.layers().get(i), null, i, 0);
        }
        return logits(x, codebook - config.nCodesGiven());
    }

    /**
     * An empty KV cache for a generation window of {@code batch} rows and {@code capacity}
     * positions: bfloat16 where a BF16 model runs its passes and steps natively (then nothing of
     * this Gpt's Java path touches it), else of the model's dtype.
     */
    public KvCache newCache(NDManager manager, int batch, int capacity) {
        if (nativePasses() && nativeStep.isBf16()) {
            return KvCache.bf16(config, batch, capacity);
        }
        return new KvCache(manager, config, batch, capacity, weights.positionEmbedding().getDataType());
    }

    /**
     * Whether whole passes run natively ({@link NativeGpt#pass}): with the native step, and with
     * SDPA attention, which is what the native pass computes attention with (EAGER stays the
     * Java reference).
     */
    private boolean nativePasses() {
        return nativeStep != null && attention == AttentionKernel.SDPA;
    }

    /** Final norm and head, in the residual dtype (32-bit when the matmuls run in 16-bit). */
    private NDArray logits(NDArray x, int head) {
        x = Ops.layerNorm(x, weights.finalNormWeight(), weights.finalNormBias(), LAYER_NORM_EPS);
        return linear(x, weights.heads().get(head), null);
    }

    /**
     * Rows start..start+length-1 of the position table, owned by the caller's {@code manager}: a slice
     * owned by the weights' manager would be attached to (and detached from) the model's one shared
     * manager, whose attach is synchronized, on every step of every concurrent call.
     */
    private NDArray positions(NDManager manager, int start, int length) {
        return toResidual(weights.positionEmbedding().get(manager, new NDIndex("{}:{}", start, start + length)));
    }

    /**
     * One block in its own {@link NDScope}: its intermediates are freed as soon as it returns, and
     * only its output moves to the caller's scope. Without it a 1024-frame fine pass kept all 12
     * layers' activations (about 55 MB each) until the pass ended, which raised the peak resident
     * memory of a generation by about 0.7 GB.
     */
    private NDArray scopedBlock(NDArray x, GptWeights.Layer w, KvCache cache, int layer, int past) {
        return Tensors.scoped(() -> block(x, w, cache, layer, past));
    }

    private NDArray block(NDArray x, GptWeights.Layer w, KvCache cache, int layer, int past) {
        NDArray normed = Ops.layerNorm(x, w.norm1Weight(), w.norm1Bias(), LAYER_NORM_EPS);
        NDArray h = x.add(toResidual(selfAttention(normed, w, cache, layer, past)));
        NDArray normed2 = Ops.layerNorm(h, w.norm2Weight(), w.norm2Bias(), LAYER_NORM_EPS);
        NDArray mlp = linear(Ops.gelu(linear(normed2, w.mlpInWeight(), w.mlpInBias())),
                w.mlpOutWeight(), w.mlpOutBias());
        return h.add(toResidual(mlp));
    }

    private NDArray selfAttention(NDArray x, GptWeights.Layer w, KvCache cache, int layer, int past) {
        Shape s = x.getShape();
        long b = s.get(0);
        long t = s.get(1);
        int heads = config.numHeads();
        int hd = config.headDim();
        NDList qkv = linear(x, w.attnProjWeight(), w.attnProjBias()).split(3, 2);
        NDArray q = splitHeads(qkv.get(0), b, t, heads, hd);
        NDArray k = splitHeads(qkv.get(1), b, t, heads, hd);
        NDArray v = splitHeads(qkv.get(2), b, t, heads, hd);
        if (cache != null) {
            cache.write(layer, k, v);
            k = cache.keys(layer, past + (int) t);
            v = cache.values(layer, past + (int) t);
        }
        NDArray y = attention.attend(q, k, v, config.isCausal());
        y = y.transpose(0, 2, 1, 3).reshape(b, t, (long) heads * hd);
        return linear(y, w.attnOutWeight(), w.attnOutBias());
    }

    private static NDArray splitHeads(NDArray x, long b, long t, int heads, int hd) {
        return x.reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    }
}
