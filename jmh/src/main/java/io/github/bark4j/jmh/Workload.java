package io.github.bark4j.jmh;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.ApiAccess;
import io.github.bark4j.internal.model.Vocabulary;
import io.github.bark4j.internal.pipeline.Coarse;
import io.github.bark4j.internal.pipeline.Fine;

import java.util.SplittableRandom;

/**
 * The fixed work every benchmark does, so that every run of a configuration computes the same thing
 * whatever the random weights predict: greedy decoding at every stage, EOS disabled, exactly
 * {@link #SEMANTIC_TOKENS} semantic tokens. The per-stage counts below are what the stage code derives
 * from them; {@link #check()} fails fast if the library's rules ever change.
 */
final class Workload {
    /**
     * Semantic tokens per utterance: 40 tokens → 120 coarse tokens (2 full windows) → 60 frames, 0.8 s of
     * audio. Short so that the quick matrix fits in minutes on two cores; the fine stage still runs one
     * full 1024-frame window, as it does for any utterance up to 13.6 s.
     */
    static final int SEMANTIC_TOKENS = 40;
    /** Coarse tokens generated from {@link #SEMANTIC_TOKENS}: exactly two 60-token windows. */
    static final int COARSE_TOKENS = 120;
    /** Frames of one fine window: the fine benchmark feeds exactly one window (no history, no voice). */
    static final int FINE_FRAMES = 1024;
    /** Audio seconds the EnCodec benchmark decodes per call (75 frames per second). */
    static final int CODEC_SECONDS = 2;
    static final int CODEC_FRAMES = 75 * CODEC_SECONDS;
    /** Audio of one end-to-end utterance: 60 frames × 320 samples / 24 kHz. */
    static final double UTTERANCE_SECONDS = COARSE_TOKENS / 2 * 320 / 24000.0;

    /** The Bark README's example sentence; its length does not change the work (256 fixed text slots). */
    static final String TEXT = "Hello, my name is Suno. And, uh — and I like pizza. [laughs] But I also have"
            + " other interests such as playing tic tac toe.";

    /**
     * Other sentences of about the same length for the rows of a batch after the first. With a fixed
     * number of semantic tokens every row does the same work; the texts differ so that the rows are
     * distinct requests, as in a real batch.
     */
    private static final String[] MORE_TEXTS = {
        "The quick brown fox jumps over the lazy dog, and then it runs back home to sleep by the fire.",
        "I went to the market this morning and bought apples, bread and a large bunch of fresh flowers.",
        "Could you tell me the way to the station? I think I am lost, and my train leaves very soon.",
        "It rained all weekend, so we stayed inside, played board games and baked a chocolate cake.",
        "Welcome to the show! Tonight we talk about music, movies and, of course, a little bit of science.",
        "She opened the old letter slowly, read the first line twice, and then began to laugh out loud.",
        "Our meeting moves to Thursday at ten; please bring the report and the numbers from last quarter.",
    };

    /** {@code batch} texts: {@link #TEXT} first, then {@link #MORE_TEXTS}, cycling. */
    static java.util.List<String> texts(int batch) {
        java.util.List<String> out = new java.util.ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            out.add(i == 0 ? TEXT : MORE_TEXTS[(i - 1) % MORE_TEXTS.length]);
        }
        return out;
    }

    /**
     * Greedy, EOS off, exactly {@link #SEMANTIC_TOKENS} semantic tokens, with the benchmark voice, and
     * the text spoken as one segment (long-form splitting would make each sentence an utterance of
     * {@link #SEMANTIC_TOKENS} tokens).
     */
    static GenerationOptions options(VoicePreset voice) {
        GenerationOptions.Builder b = ApiAccess.get().fixedSemanticTokens(GenerationOptions.builder().greedy(),
                SEMANTIC_TOKENS).longForm(false);
        if (voice != null) {
            b.voice(voice);
        }
        return b.build();
    }

    /**
     * A synthetic voice preset of the size of Bark's shipped ones (about 300 semantic tokens and 320
     * frames of codes): with it the coarse stage re-prefills its full 887-position prompt at every
     * window, as in the middle of a long utterance or with any real voice.
     */
    static VoicePreset voice() {
        SplittableRandom r = new SplittableRandom(42);
        int[] semantic = r.ints(300, 0, Vocabulary.SEMANTIC_SIZE).toArray();
        return VoicePreset.of(semantic, codes(r, Coarse.CODEBOOKS, 320), codes(r, 8, 320));
    }

    /** Random semantic tokens standing in for the semantic stage's output. */
    static int[] semanticTokens() {
        return new SplittableRandom(7).ints(SEMANTIC_TOKENS, 0, Vocabulary.SEMANTIC_SIZE).toArray();
    }

    /** Random (books, frames) codes 0..1023. */
    static int[][] codes(SplittableRandom r, int books, int frames) {
        int[][] c = new int[books][];
        for (int k = 0; k < books; k++) {
            c[k] = r.ints(frames, 0, Vocabulary.CODEBOOK_SIZE).toArray();
        }
        return c;
    }

    static void check() {
        if (Coarse.steps(SEMANTIC_TOKENS) != COARSE_TOKENS) {
            throw new IllegalStateException("Coarse.steps(" + SEMANTIC_TOKENS + ") is " + Coarse.steps(SEMANTIC_TOKENS)
                    + ", not " + COARSE_TOKENS + ": update Workload");
        }
        if (Fine.WINDOW != FINE_FRAMES) {
            throw new IllegalStateException("Fine.WINDOW changed: update Workload");
        }
    }

    private Workload() {}
}
