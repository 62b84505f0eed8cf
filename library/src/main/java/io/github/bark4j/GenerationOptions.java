package io.github.bark4j;

import io.github.bark4j.internal.ApiAccess;
import io.github.bark4j.internal.pipeline.Semantic;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to generate: sampling settings per stage, voice, length cap, seed. Immutable and validated;
 * defaults follow the original Bark (temperature 0.7 for the semantic and coarse stages, 0.5 for the
 * fine stage, no top-k / top-p, early stop when P(EOS) ≥ 0.2).
 */
public final class GenerationOptions {
    static {
        ApiAccess.install(new ApiAccess() {
            @Override
            public Builder fixedSemanticTokens(Builder builder, int n) {
                return builder.fixedSemanticTokens(n);
            }

            @Override
            public int fixedSemanticTokens(GenerationOptions options) {
                return options.fixedSemanticTokens();
            }
        });
    }

    private static final GenerationOptions DEFAULTS = builder().build();

    private final boolean greedy;
    private final double semanticTemperature;
    private final double coarseTemperature;
    private final double fineTemperature;
    private final int topK;
    private final double topP;
    private final double minEosP;
    private final double maxSemanticSeconds;
    private final Long seed;
    private final VoicePreset voice;
    private final String voiceName;
    private final ProgressListener progress;
    private final int fixedSemanticTokens;
    private final boolean longForm;
    private final double pauseSeconds;
    private final int maxBatch;
    private final int maxSegmentTokens;

    private GenerationOptions(Builder b) {
        this.greedy = b.greedy;
        this.semanticTemperature = b.semanticTemperature;
        this.coarseTemperature = b.coarseTemperature;
        this.fineTemperature = b.fineTemperature;
        this.topK = b.topK;
        this.topP = b.topP;
        this.minEosP = b.minEosP;
        this.maxSemanticSeconds = b.maxSemanticSeconds;
        this.seed = b.seed;
        this.voice = b.voice;
        this.voiceName = b.voiceName;
        this.progress = b.progress;
        this.fixedSemanticTokens = b.fixedSemanticTokens;
        this.longForm = b.longForm;
        this.pauseSeconds = b.pauseSeconds;
        this.maxBatch = b.maxBatch;
        this.maxSegmentTokens = b.maxSegmentTokens;
    }

    public static GenerationOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this object's settings, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.greedy = greedy;
        b.semanticTemperature = semanticTemperature;
        b.coarseTemperature = coarseTemperature;
        b.fineTemperature = fineTemperature;
        b.topK = topK;
        b.topP = topP;
        b.minEosP = minEosP;
        b.maxSemanticSeconds = maxSemanticSeconds;
        b.seed = seed;
        b.voice = voice;
        b.voiceName = voiceName;
        b.progress = progress;
        b.fixedSemanticTokens = fixedSemanticTokens;
        b.longForm = longForm;
        b.pauseSeconds = pauseSeconds;
        b.maxBatch = maxBatch;
        b.maxSegmentTokens = maxSegmentTokens;
        return b;
    }

    /** Argmax at every stage, no randomness; the semantic stage stops only when EOS is the argmax. */
    public boolean greedy() {
        return greedy;
    }

    public double semanticTemperature() {
        return semanticTemperature;
    }

    public double coarseTemperature() {
        return coarseTemperature;
    }

    public double fineTemperature() {
        return fineTemperature;
    }

    /** 0 means no top-k filter (semantic and coarse stages). */
    public int topK() {
        return topK;
    }

    /** 0 means no nucleus filter (semantic and coarse stages). */
    public double topP() {
        return topP;
    }

    /** Early-stop threshold on the tempered EOS probability; 0 disables it. */
    public double minEosP() {
        return minEosP;
    }

    /** Cap on semantic audio length in seconds; infinity means only the 768-token limit. */
    public double maxSemanticSeconds() {
        return maxSemanticSeconds;
    }

    /** The seed, or null for a fresh random one per call. */
    public Long seed() {
        return seed;
    }

    /** The voice preset, or null for none (or a named voice, see {@link #voiceName()}). */
    public VoicePreset voice() {
        return voice;
    }

    /** A voice named relative to the model ("v2/en_speaker_6"), or null. */
    public String voiceName() {
        return voiceName;
    }

    public ProgressListener progress() {
        return progress;
    }

    /**
     * Whether text of any length is spoken whole, in segments (the default); false is exactly one
     * Bark generation, text over 256 tokens cut with a warning as the original does.
     */
    public boolean longForm() {
        return longForm;
    }

    /** Silence between the segments of long-form speech, in seconds (default 0.25). */
    public double pauseSeconds() {
        return pauseSeconds;
    }

    /** The most generations run together in one batch (segments of a long text, or list items). */
    public int maxBatch() {
        return maxBatch;
    }

    /** The most text tokens in one segment of long-form speech (1..256, default 48). */
    public int maxSegmentTokens() {
        return maxSegmentTokens;
    }

    /**
     * Package-private, for benchmarks: when positive, the semantic stage generates exactly this many
     * tokens, never picking EOS and ignoring the early stop and the duration cap, so every run does
     * the same work whatever the weights; 0 (the default) is normal generation.
     */
    int fixedSemanticTokens() {
        return fixedSemanticTokens;
    }

    @Override
    public String toString() {
        return "GenerationOptions[greedy=" + greedy + ", temperatures=" + semanticTemperature + "/" + coarseTemperature
                + "/" + fineTemperature + ", topK=" + topK + ", topP=" + topP + ", minEosP=" + minEosP
                + ", maxSemanticSeconds=" + maxSemanticSeconds + ", seed=" + seed + ", voice="
                + (voiceName != null ? voiceName : voice) + ", longForm=" + longForm + ", pauseSeconds=" + pauseSeconds
                + ", maxBatch=" + maxBatch + ", maxSegmentTokens=" + maxSegmentTokens + "]";
    }

    /** Builder; every setter validates its argument at once. */
    public static final class Builder {
        private boolean greedy;
        private double semanticTemperature = 0.7;
        private double coarseTemperature = 0.7;
        private double fineTemperature = 0.5;
        private int topK;
        private double topP;
        private double minEosP = 0.2;
        private double maxSemanticSeconds = Double.POSITIVE_INFINITY;
        private Long seed;
        private VoicePreset voice;
        private String voiceName;
        private ProgressListener progress = ProgressListener.NONE;
        private int fixedSemanticTokens;
        private boolean longForm = true;
        private double pauseSeconds = 0.25;
        private int maxBatch = 4;
        private int maxSegmentTokens = 48;

        private Builder() {}

        /** Argmax decoding at every stage (deterministic; temperatures and filters are ignored). */
        public Builder greedy() {
            this.greedy = true;
            return this;
        }

        /** Sampling (the default), undoing {@link #greedy()}. */
        public Builder sampling() {
            this.greedy = false;
            return this;
        }

        /** Temperature of the semantic and coarse stages (the original's text_temp and waveform_temp). */
        public Builder temperature(double t) {
            this.semanticTemperature = checkTemperature(t);
            this.coarseTemperature = t;
            return this;
        }

        public Builder semanticTemperature(double t) {
            this.semanticTemperature = checkTemperature(t);
            return this;
        }

        public Builder coarseTemperature(double t) {
            this.coarseTemperature = checkTemperature(t);
            return this;
        }

        public Builder fineTemperature(double t) {
            this.fineTemperature = checkTemperature(t);
            return this;
        }

        /** Keep only the k most likely tokens (semantic and coarse stages); 0 disables. */
        public Builder topK(int k) {
            if (k < 0) {
                throw new InvalidInputException("topK must be ≥ 0 (0 disables it), got " + k);
            }
            this.topK = k;
            return this;
        }

        /** Nucleus sampling threshold in (0, 1] (semantic and coarse stages); 0 disables. */
        public Builder topP(double p) {
            if (!(p >= 0 && p <= 1)) {
                throw new InvalidInputException("topP must be in [0, 1] (0 disables it), got " + p);
            }
            this.topP = p;
            return this;
        }

        /** Stop the semantic stage once P(EOS) ≥ p (default 0.2); 0 disables the early stop. */
        public Builder minEosP(double p) {
            if (!(p >= 0 && p <= 1)) {
                throw new InvalidInputException("minEosP must be in [0, 1] (0 disables it), got " + p);
            }
            this.minEosP = p;
            return this;
        }

        /** Stop the semantic stage once the generated audio exceeds this many seconds. */
        public Builder maxSemanticSeconds(double seconds) {
            if (!(seconds > 0) || Double.isNaN(seconds)) {
                throw new InvalidInputException("maxSemanticSeconds must be positive, got " + seconds);
            }
            this.maxSemanticSeconds = seconds;
            return this;
        }

        /** Makes sampling reproducible: same seed and inputs give the same tokens. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder voice(VoicePreset preset) {
            this.voice = Objects.requireNonNull(preset, "preset");
            this.voiceName = null;
            return this;
        }

        /** Loads an original Bark {@code .npz} preset now, so a bad file fails here. */
        public Builder voice(Path npz) {
            return voice(VoicePreset.load(npz));
        }

        /** A preset by name, resolved in the model folder's {@code speaker_embeddings} at generation. */
        public Builder voice(String name) {
            if (name == null || name.isBlank()) {
                throw new InvalidInputException("voice name must not be blank");
            }
            this.voiceName = name.strip();
            this.voice = null;
            return this;
        }

        public Builder noVoice() {
            this.voice = null;
            this.voiceName = null;
            return this;
        }

        public Builder progress(ProgressListener listener) {
            this.progress = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Long-form speech (true, the default): the text is split at sentence boundaries into
         * segments of at most {@link #maxSegmentTokens(int)} tokens, each spoken by one generation
         * with these options, joined by {@link #pauseSeconds(double)} of silence. False: exactly one
         * generation, text over 256 tokens cut with a warning (the original Bark's behaviour).
         */
        public Builder longForm(boolean longForm) {
            this.longForm = longForm;
            return this;
        }

        /** Silence between segments of long-form speech, in seconds; 0 allowed (default 0.25). */
        public Builder pauseSeconds(double seconds) {
            if (!(seconds >= 0) || Double.isInfinite(seconds) || seconds > 60) {
                throw new InvalidInputException("pauseSeconds must be in [0, 60], got " + seconds);
            }
            this.pauseSeconds = seconds;
            return this;
        }

        /**
         * The most generations run as one batch (default 4): independent segments of a long text,
         * or the texts of a list. Greedy results do not depend on it; a larger batch is faster on a
         * GPU and needs one KV cache per row.
         */
        public Builder maxBatch(int n) {
            if (n < 1) {
                throw new InvalidInputException("maxBatch must be at least 1, got " + n);
            }
            this.maxBatch = n;
            return this;
        }

        /**
         * The most text tokens per long-form segment, 1..256 (default 48). Bark speaks about 13-15 s
         * per generation (768 semantic tokens at 49.9 Hz), roughly 40-60 tokens of English; a longer
         * segment is read whole but its speech may be cut by that limit.
         */
        public Builder maxSegmentTokens(int n) {
            if (n < 1 || n > Semantic.TEXT_SLOTS) {
                throw new InvalidInputException("maxSegmentTokens must be in [1, " + Semantic.TEXT_SLOTS + "], got " + n);
            }
            this.maxSegmentTokens = n;
            return this;
        }

        /** See {@link GenerationOptions#fixedSemanticTokens()}; 0 turns it off. Package-private. */
        Builder fixedSemanticTokens(int n) {
            if (n < 0 || n > Semantic.MAX_NEW_TOKENS) {
                throw new InvalidInputException("fixedSemanticTokens must be in [0, " + Semantic.MAX_NEW_TOKENS
                        + "], got " + n);
            }
            this.fixedSemanticTokens = n;
            return this;
        }

        public GenerationOptions build() {
            return new GenerationOptions(this);
        }

        private static double checkTemperature(double t) {
            if (!(t > 0) || Double.isInfinite(t)) {
                throw new InvalidInputException("temperature must be a positive finite number, got " + t
                        + " (use greedy() for argmax decoding)");
            }
            return t;
        }
    }
}
