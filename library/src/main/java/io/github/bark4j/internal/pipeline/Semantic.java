package io.github.bark4j.internal.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Stage;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.ApiAccess;
import io.github.bark4j.internal.Cancellation;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.KvCache;
import io.github.bark4j.internal.model.Logits;
import io.github.bark4j.internal.model.Tensors;

import java.util.Arrays;

/**
 * Stage 1, text → semantic tokens. The prompt is 257 positions: the embeddings of the 256 text slots
 * and 256 history slots summed pairwise, then the "infer" token. Decoding continues with a KV cache
 * until EOS, the token limit or the duration cap.
 */
public final class Semantic {
    public static final int TEXT_SLOTS = 256;
    static final int TEXT_OFFSET = 10_048;
    static final int TEXT_PAD = 129_595;
    public static final int INFER_TOKEN = 129_599;
    public static final int EOS = 10_000;
    static final int HISTORY_PAD = 10_000;
    public static final int PROMPT_LENGTH = TEXT_SLOTS + 1;
    public static final int MAX_NEW_TOKENS = 768;
    static final double RATE_HZ = 49.9;

    private Semantic() {}

    /** The original's 513-id prompt: offset text ids padded to 256, 256 history ids, the infer token. */
    public static long[] promptIds(long[] textIds, VoicePreset voice) {
        if (textIds.length > TEXT_SLOTS) {
            throw new IllegalArgumentException("at most " + TEXT_SLOTS + " text tokens");
        }
        long[] ids = new long[2 * TEXT_SLOTS + 1];
        Arrays.fill(ids, 0, TEXT_SLOTS, TEXT_PAD);
        for (int i = 0; i < textIds.length; i++) {
            ids[i] = textIds[i] + TEXT_OFFSET;
        }
        Arrays.fill(ids, TEXT_SLOTS, 2 * TEXT_SLOTS, HISTORY_PAD);
        if (voice != null) {
            int[] history = voice.semanticPrompt();
            int start = Math.max(0, history.length - TEXT_SLOTS);
            for (int i = start; i < history.length; i++) {
                ids[TEXT_SLOTS + i - start] = history[i];
            }
        }
        ids[2 * TEXT_SLOTS] = INFER_TOKEN;
        return ids;
    }

    /** Embeds a 513-id prompt (B rows) into the merged 257-position input (B, 257, H). */
    public static NDArray promptEmbeddings(Gpt gpt, NDManager manager, long[] promptIds, int batch) {
        int n = 2 * TEXT_SLOTS + 1;
        NDArray ids = Tensors.ids(manager, promptIds, batch, n);
        NDArray text = gpt.embed(ids.get(":, :{}", TEXT_SLOTS));
        NDArray history = gpt.embed(ids.get(":, {}:{}", TEXT_SLOTS, 2 * TEXT_SLOTS));
        NDArray infer = gpt.embed(ids.get(":, {}:", 2 * TEXT_SLOTS));
        return NDArrays.concat(new NDList(text.add(history), infer), 1);
    }

    /**
     * The most tokens a row can produce before {@code maxSeconds} stops it, by the cap's own
     * arithmetic (1/49.9 s added per token, stop once past the cap), and never more than {@code limit}.
     */
    public static int tokensWithinCap(double maxSeconds, int limit) {
        double seconds = 0;
        for (int n = 1; n < limit; n++) {
            seconds += 1 / RATE_HZ;
            if (seconds > maxSeconds) {
                return n;
            }
        }
        return limit;
    }

    /** Logits of the semantic model for the first step (the last prompt position), shape (V). */
    public static NDArray firstLogits(Gpt gpt, NDManager manager, long[] promptIds) {
        NDArray x = promptEmbeddings(gpt, manager, promptIds, 1);
        return gpt.forwardCausal(x, null, true).squeeze(0);
    }

    /**
     * Generates semantic tokens for a batch of texts (one row each, same voice). All rows share the
     * 257-position prompt layout, so they decode in lockstep; a row that finishes leaves the batch and
     * its KV cache, so the remaining rows' steps cost what their own would (rows never mix, so their
     * arithmetic is that of a single run).
     */
    public static int[][] generate(Gpt gpt, NDManager manager, long[][] textIds, VoicePreset voice, GenerationOptions o,
            Sampler[] samplers) {
        int batch = textIds.length;
        int maxNew = Math.min(MAX_NEW_TOKENS, gpt.config().blockSize() - PROMPT_LENGTH + 1);
        int fixed = ApiAccess.get().fixedSemanticTokens(o);
        if (fixed > maxNew) {
            throw new IllegalArgumentException(fixed + " semantic tokens exceed this model's limit of " + maxNew);
        }
        if (fixed > 0) {
            maxNew = fixed;
        }
        // progress counts to where the duration cap stops a row, not to the model's limit
        int progressTotal = fixed > 0 ? maxNew : tokensWithinCap(o.maxSemanticSeconds(), maxNew);
        int[][] out = new int[batch][maxNew];
        int[] lengths = new int[batch];
        double[] seconds = new double[batch];
        long[] prompt = new long[batch * (2 * TEXT_SLOTS + 1)];
        for (int b = 0; b < batch; b++) {
            long[] row = promptIds(textIds[b], voice);
            System.arraycopy(row, 0, prompt, b * row.length, row.length);
        }
        try (NDScope scope = new NDScope();
                KvCache cache = gpt.newCache(manager, batch, PROMPT_LENGTH + maxNew - 1)) {
            scope.suppressNotUsedWarning();
            NDArray x = promptEmbeddings(gpt, manager, prompt, batch);
            double[] logits = Tensors.toDoubles(gpt.forwardCausal(x, cache, true));
            // greedy decode steps bring back each row's argmax (over ids 0..EOS, or 0..9999 for a
            // fixed length) instead of the logits; null after the prompt pass and when sampling
            int[] best = null;
            // rows[j]: the text whose logits are row j; finished texts leave the batch (and the cache)
            int[] rows = new int[batch];
            Arrays.setAll(rows, b -> b);
            for (int step = 0; step < maxNew; step++) {
                Cancellation.check();
                // the prompt pass gives the whole vocabulary, decode steps only ids 0..EOS
                int vocab = best != null ? 0 : logits.length / rows.length;
                int[] kept = new int[rows.length];
                int stillActive = 0;
                for (int j = 0; j < rows.length; j++) {
                    int b = rows[j];
                    int token;
                    if (best != null) {
                        token = best[j] == EOS ? -1 : best[j];
                    } else {
                        double[] row = Arrays.copyOfRange(logits, j * vocab, (j + 1) * vocab);
                        // a fixed-length run (benchmarks) never lets EOS win and ignores the duration cap
                        token = fixed > 0 ? pickNotEos(row, o, samplers[b]) : pick(row, o, samplers[b]);
                    }
                    if (token < 0) {
                        continue;
                    }
                    out[b][lengths[b]++] = token;
                    seconds[b] += 1 / RATE_HZ;
                    boolean capped = fixed == 0 && seconds[b] > o.maxSemanticSeconds();
                    if (!capped && step < maxNew - 1) {
                        kept[stillActive++] = j;
                    }
                }
                o.progress().onProgress(Stage.SEMANTIC, step + 1, progressTotal);
                if (stillActive == 0) {
                    break;
                }
                if (stillActive < rows.length) {
                    long[] keep = new long[stillActive];
                    int[] nextRows = new int[stillActive];
                    for (int j = 0; j < stillActive; j++) {
                        keep[j] = kept[j];
                        nextRows[j] = rows[kept[j]];
                    }
                    cache.keepRows(keep);
                    rows = nextRows;
                }
                long[] feed = new long[rows.length];
                for (int j = 0; j < rows.length; j++) {
                    feed[j] = out[rows[j]][lengths[rows[j]] - 1];
                }
                if (o.greedy()) {
                    // the same argmax pick() and pickNotEos() take (first of equal maxima)
                    best = gpt.decodeArgmax(manager, feed, cache, 0, fixed > 0 ? EOS : EOS + 1);
                } else {
                    logits = gpt.decode(manager, feed, cache, 0, EOS + 1);
                }
            }
        }
        int[][] result = new int[batch][];
        for (int b = 0; b < batch; b++) {
            result[b] = Arrays.copyOf(out[b], lengths[b]);
        }
        return result;
    }

    /** The next semantic token among ids 0..9999 only (EOS never wins): fixed-length runs. */
    static int pickNotEos(double[] logits, GenerationOptions o, Sampler sampler) {
        double[] relevant = Arrays.copyOf(logits, EOS);
        if (o.greedy()) {
            return Logits.argmax(relevant, 0, relevant.length);
        }
        return sampler.draw(Sampler.probabilities(relevant, 0, relevant.length, o.semanticTemperature(), o.topK(),
                o.topP()));
    }

    /** The next semantic token from the logits of one step, or -1 for EOS. */
    static int pick(double[] logits, GenerationOptions o, Sampler sampler) {
        // only semantic ids 0..9999 and EOS (10000) are eligible
        double[] relevant = Arrays.copyOf(logits, EOS + 1);
        if (o.greedy()) {
            int best = Logits.argmax(relevant, 0, relevant.length);
            return best == EOS ? -1 : best;
        }
        double[] p = Sampler.probabilities(relevant, 0, relevant.length, o.semanticTemperature(), o.topK(), o.topP());
        int token = sampler.draw(p);
        if (token == EOS || (o.minEosP() > 0 && p[EOS] >= o.minEosP())) {
            return -1;
        }
        return token;
    }
}
