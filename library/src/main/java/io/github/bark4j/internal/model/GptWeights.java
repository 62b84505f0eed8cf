package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import io.github.bark4j.ModelLoadException;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The immutable weights of one Bark GPT, looked up under its checkpoint prefix ({@code semantic.},
 * {@code coarse_acoustics.}, {@code fine_acoustics.}). Causal models have one input embedding and one
 * head; the fine model has one embedding per codebook and one head per predicted codebook.
 */
public record GptWeights(
        List<NDArray> inputEmbeddings,
        NDArray positionEmbedding,
        List<Layer> layers,
        NDArray finalNormWeight,
        NDArray finalNormBias,
        List<NDArray> heads) {

    /**
     * One transformer block; linear biases are null where the config has {@code bias: false}, and
     * bias-free layer norms carry a zero beta.
     */
    record Layer(
            NDArray norm1Weight, NDArray norm1Bias,
            NDArray attnProjWeight, NDArray attnProjBias,
            NDArray attnOutWeight, NDArray attnOutBias,
            NDArray norm2Weight, NDArray norm2Bias,
            NDArray mlpInWeight, NDArray mlpInBias,
            NDArray mlpOutWeight, NDArray mlpOutBias) {}

    /** Every tensor on {@code manager}'s device, owned by it (per-stage offload; see {@link Tensors#copyTo}). */
    public GptWeights copyTo(NDManager manager) {
        // one memo for both groups: a fine head tied to an embedding table is copied once
        UnaryOperator<NDArray> copy = once(x -> Tensors.copyTo(x, manager));
        return map(copy, copy);
    }

    /**
     * The same weights with {@code matmul} applied to what {@link #load} takes from the compute store
     * (embeddings, positions, linear weights and biases) and {@code normAndHead} to the layer norms
     * and heads. Each tensor is mapped once per function.
     */
    public GptWeights map(UnaryOperator<NDArray> matmul, UnaryOperator<NDArray> normAndHead) {
        UnaryOperator<NDArray> m = once(matmul);
        UnaryOperator<NDArray> n = once(normAndHead);
        List<Layer> l = new ArrayList<>();
        for (Layer x : layers) {
            l.add(new Layer(n.apply(x.norm1Weight()), n.apply(x.norm1Bias()), m.apply(x.attnProjWeight()),
                    m.apply(x.attnProjBias()), m.apply(x.attnOutWeight()), m.apply(x.attnOutBias()),
                    n.apply(x.norm2Weight()), n.apply(x.norm2Bias()), m.apply(x.mlpInWeight()), m.apply(x.mlpInBias()),
                    m.apply(x.mlpOutWeight()), m.apply(x.mlpOutBias())));
        }
        return new GptWeights(inputEmbeddings.stream().map(m).toList(), m.apply(positionEmbedding), List.copyOf(l),
                n.apply(finalNormWeight), n.apply(finalNormBias), heads.stream().map(n).toList());
    }

    /** Reads one weight of the given shape under a key. */
    private interface Loader {
        NDArray load(String key, long... shape);
    }

    /** {@code f} applied at most once per distinct tensor (by identity); null stays null. */
    private static UnaryOperator<NDArray> once(UnaryOperator<NDArray> f) {
        IdentityHashMap<NDArray, NDArray> done = new IdentityHashMap<>();
        return a -> a == null ? null : done.computeIfAbsent(a, f);
    }

    /**
     * Loads one GPT. Layer norms and heads use {@code logitStore}'s dtype, the matmul weights and
     * embedding tables {@code store}'s: with FP16 compute the residual stream, norms and logits stay
     * 32-bit (all-half activations put the fixture's fine logits 0.065 off FP32; this keeps them
     * within the weights' own rounding).
     */
    static GptWeights load(WeightStore store, WeightStore logitStore, String prefix, GptConfig c) {
        return load(store, logitStore, prefix, c, null);
    }

    /**
     * Like {@link #load(WeightStore, WeightStore, String, GptConfig)}, with every matmul weight,
     * head and input embedding table read through {@code bf16} (unless null), which rounds each as
     * soon as it is read ({@link Bf16Matmuls#whileLoading}).
     */
    static GptWeights load(WeightStore store, WeightStore logitStore, String prefix, GptConfig c, Bf16Matmuls bf16) {
        Loader matmul = bf16 == null ? (key, shape) -> store.load(key, shape)
                : (key, shape) -> bf16.load(store, key, Bf16Matmuls.Kind.MATMUL, shape);
        Loader embedding = bf16 == null ? matmul : (key, shape) -> bf16.load(store, key, Bf16Matmuls.Kind.EMBEDDING, shape);
        Loader head = bf16 == null ? (key, shape) -> logitStore.load(key, shape)
                : (key, shape) -> bf16.load(logitStore, key, Bf16Matmuls.Kind.HEAD, shape);
        long h = c.hiddenSize();
        boolean fine = !c.isCausal();
        // The fine model's layer norms always carry a bias; the causal ones follow config.bias.
        boolean normBias = fine || c.bias();
        // bias-free norms get one shared zero beta, made once here rather than per call
        NDArray zeroBeta = normBias ? null
                : logitStore.manager().zeros(new ai.djl.ndarray.types.Shape(h), logitStore.dtype());
        List<NDArray> embeddings = new ArrayList<>();
        if (fine) {
            for (int i = 0; i < c.nCodesTotal(); i++) {
                embeddings.add(embedding.load(prefix + "input_embeds_layers." + i + ".weight", c.inputVocabSize(), h));
            }
        } else {
            embeddings.add(embedding.load(prefix + "input_embeds_layer.weight", c.inputVocabSize(), h));
        }
        NDArray position = store.load(prefix + "position_embeds_layer.weight", c.blockSize(), h);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = prefix + "layers." + i + ".";
            if (!fine) {
                // the causal-mask buffer is recomputed at run time
                store.markUsed(p + "attn.bias");
            }
            layers.add(new Layer(
                    logitStore.load(p + "layernorm_1.weight", h),
                    normBias ? logitStore.load(p + "layernorm_1.bias", h) : zeroBeta,
                    matmul.load(p + "attn.att_proj.weight", 3 * h, h),
                    c.bias() ? store.load(p + "attn.att_proj.bias", 3 * h) : null,
                    matmul.load(p + "attn.out_proj.weight", h, h),
                    c.bias() ? store.load(p + "attn.out_proj.bias", h) : null,
                    logitStore.load(p + "layernorm_2.weight", h),
                    normBias ? logitStore.load(p + "layernorm_2.bias", h) : zeroBeta,
                    matmul.load(p + "mlp.in_proj.weight", 4 * h, h),
                    c.bias() ? store.load(p + "mlp.in_proj.bias", 4 * h) : null,
                    matmul.load(p + "mlp.out_proj.weight", h, 4 * h),
                    c.bias() ? store.load(p + "mlp.out_proj.bias", h) : null));
        }
        NDArray finalWeight = logitStore.load(prefix + "layernorm_final.weight", h);
        NDArray finalBias = normBias ? logitStore.load(prefix + "layernorm_final.bias", h) : zeroBeta;
        List<NDArray> heads = new ArrayList<>();
        if (fine) {
            int nHeads = c.nCodesTotal() - c.nCodesGiven();
            for (int i = 0; i < nHeads; i++) {
                String key = prefix + "lm_heads." + i + ".weight";
                if (store.has(key)) {
                    heads.add(head.load(key, c.outputVocabSize(), h));
                } else {
                    // Tied heads may be stored once: head i is the embedding table of codebook i+1.
                    int tied = i + c.nCodesGiven();
                    if (c.outputVocabSize() != c.inputVocabSize()) {
                        throw new ModelLoadException("Checkpoint lacks '" + key + "' and it cannot be tied to"
                                + " input_embeds_layers." + tied + " (vocab sizes differ)");
                    }
                    NDArray table = embeddings.get(tied);
                    NDArray tiedHead = table.getDataType() == logitStore.dtype() ? table
                            : table.toType(logitStore.dtype(), true);
                    if (bf16 != null) {
                        bf16.addTiedHead(tiedHead);
                    }
                    heads.add(tiedHead);
                }
            }
        } else {
            heads.add(head.load(prefix + "lm_head.weight", c.outputVocabSize(), h));
        }
        return new GptWeights(List.copyOf(embeddings), position, List.copyOf(layers), finalWeight, finalBias,
                List.copyOf(heads));
    }
}
