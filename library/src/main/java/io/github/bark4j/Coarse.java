package io.github.bark4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.Arrays;

/**
 * Stage 2, semantic tokens → the first two EnCodec codebooks, interleaved (c0, c1, c0, c1, …). Runs in
 * windows of 60 tokens; each window restarts the KV cache from a prompt of up to 256 semantic tokens
 * around the current position, the infer token and the last 630 coarse tokens.
 */
final class Coarse {
    static final int CODEBOOKS = 2;
    static final int SEMANTIC_VOCAB = 10_000;
    static final int CODES_START = SEMANTIC_VOCAB;
    static final int CODES_END = SEMANTIC_VOCAB + CODEBOOKS * VoicePreset.CODEBOOK_SIZE;
    static final int SEMANTIC_PAD = 12_048;
    static final int INFER_TOKEN = 12_050;
    static final int SEMANTIC_WINDOW = 256;
    static final int MAX_HISTORY = 630;
    static final int WINDOW = 60;
    static final int MAX_PROMPT = SEMANTIC_WINDOW + 1 + MAX_HISTORY;
    static final double RATE_HZ = 75;
    /** Coarse tokens per semantic token, computed as the original does (the order matters for rounding). */
    static final double SEMANTIC_TO_COARSE = RATE_HZ / Semantic.RATE_HZ * CODEBOOKS;
    static final int MAX_SEMANTIC_HISTORY = (int) Math.floor(MAX_HISTORY / SEMANTIC_TO_COARSE);

    private Coarse() {}

    /** Number of coarse tokens (even) for a semantic sequence. */
    static int steps(int semanticLength) {
        return (int) Math.rint(Math.floor(semanticLength * SEMANTIC_TO_COARSE / CODEBOOKS) * CODEBOOKS);
    }

    /** Semantic and flattened coarse history from a voice, trimmed as the original aligns them. */
    record History(int[] semantic, int[] coarse) {
        static final History NONE = new History(new int[0], new int[0]);

        static History of(VoicePreset voice) {
            if (voice == null) {
                return NONE;
            }
            int[] sem = voice.semanticView();
            int[][] c = voice.coarseView();
            int frames = c[0].length;
            int[] flat = new int[frames * CODEBOOKS];
            for (int t = 0; t < frames; t++) {
                for (int k = 0; k < CODEBOOKS; k++) {
                    flat[t * CODEBOOKS + k] = c[k][t] + k * VoicePreset.CODEBOOK_SIZE + SEMANTIC_VOCAB;
                }
            }
            int nSem = Math.min(MAX_SEMANTIC_HISTORY, Math.min(sem.length - sem.length % 2,
                    (int) Math.floor(flat.length / SEMANTIC_TO_COARSE)));
            int nCoarse = (int) Math.rint(nSem * SEMANTIC_TO_COARSE);
            int[] semHist = Arrays.copyOfRange(sem, sem.length - nSem, sem.length);
            int[] coarseHist = Arrays.copyOfRange(flat, flat.length - nCoarse, flat.length);
            // the original drops the last two coarse tokens to keep the streams time-aligned
            coarseHist = Arrays.copyOf(coarseHist, Math.max(0, coarseHist.length - 2));
            return new History(semHist, coarseHist);
        }
    }

    /** Generates (2, frames) codes 0..1023. */
    static int[][] generate(Gpt gpt, NDManager manager, int[] semantic, VoicePreset voice, GenerationOptions o,
            Sampler sampler) {
        History history = History.of(voice);
        int nSteps = steps(semantic.length);
        int[] semanticIn = concat(history.semantic(), semantic);
        int base = history.semantic().length;
        int[] coarse = Arrays.copyOf(history.coarse(), history.coarse().length + nSteps);
        int coarseLength = history.coarse().length;
        int windows = (int) Math.ceil(nSteps / (double) WINDOW);
        int step = 0;
        for (int w = 0; w < windows; w++) {
            int semanticIndex = base + (int) Math.rint(step / SEMANTIC_TO_COARSE);
            int from = Math.max(0, semanticIndex - MAX_SEMANTIC_HISTORY);
            long[] prompt = windowPrompt(semanticIn, from, coarse, coarseLength);
            try (NDScope scope = new NDScope();
                    KvCache cache = new KvCache(manager, gpt.config(), 1, prompt.length + WINDOW,
                            gpt.weights().positionEmbedding().getDataType())) {
                scope.suppressNotUsedWarning();
                long[] feed = prompt;
                for (int j = 0; j < WINDOW && step < nSteps; j++) {
                    double[] logits;
                    try (NDScope stepScope = new NDScope()) {
                        stepScope.suppressNotUsedWarning();
                        NDArray input = gpt.embed(Tensors.ids(manager, feed, 1, feed.length));
                        logits = Tensors.toDoubles(gpt.forwardCausal(input, cache, true));
                    }
                    int start = CODES_START + (step % CODEBOOKS) * VoicePreset.CODEBOOK_SIZE;
                    int token = start + pick(logits, start, o, sampler);
                    coarse[coarseLength++] = token;
                    step++;
                    feed = new long[] {token};
                }
            }
            o.progress().onProgress(Stage.COARSE, step, nSteps);
        }
        int frames = nSteps / CODEBOOKS;
        int[][] out = new int[CODEBOOKS][frames];
        int offset = history.coarse().length;
        for (int t = 0; t < frames; t++) {
            for (int k = 0; k < CODEBOOKS; k++) {
                out[k][t] = coarse[offset + t * CODEBOOKS + k] - SEMANTIC_VOCAB - k * VoicePreset.CODEBOOK_SIZE;
            }
        }
        return out;
    }

    /** [256 semantic tokens from {@code from} (padded), infer token, last ≤630 coarse tokens]. */
    static long[] windowPrompt(int[] semanticIn, int from, int[] coarse, int coarseLength) {
        int historyStart = Math.max(0, coarseLength - MAX_HISTORY);
        long[] prompt = new long[SEMANTIC_WINDOW + 1 + coarseLength - historyStart];
        for (int i = 0; i < SEMANTIC_WINDOW; i++) {
            int src = from + i;
            prompt[i] = src < semanticIn.length ? semanticIn[src] : SEMANTIC_PAD;
        }
        prompt[SEMANTIC_WINDOW] = INFER_TOKEN;
        for (int i = historyStart; i < coarseLength; i++) {
            prompt[SEMANTIC_WINDOW + 1 + i - historyStart] = coarse[i];
        }
        return prompt;
    }

    /** Index within the codebook's 1024 logits starting at {@code start}. */
    static int pick(double[] logits, int start, GenerationOptions o, Sampler sampler) {
        int end = start + VoicePreset.CODEBOOK_SIZE;
        if (o.greedy()) {
            return Sampler.argmax(logits, start, end);
        }
        return sampler.draw(Sampler.probabilities(logits, start, end, o.coarseTemperature(), o.topK(), o.topP()));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
