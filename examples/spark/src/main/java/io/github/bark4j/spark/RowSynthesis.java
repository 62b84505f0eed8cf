package io.github.bark4j.spark;

import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Speaks one partition: rows that a previous run finished are read back, bad rows become failed
 * manifest rows, and the rest go through the batched API, {@code batchSize} rows of one voice at a
 * time, each row with its own seed (so a row's audio does not depend on its batch). Streams: at most
 * one batch per voice is held in memory.
 */
final class RowSynthesis implements MapPartitionsFunction<Row, Row> {
    /** Input columns, in this order. */
    static final String[] INPUT = {"row", "id", "text", "voice", "seed", "first_row"};

    private final ModelSpec model;
    private final GenerationSettings settings;
    private final OutputLayout out;
    private final int batchSize;
    private final JobCounters counters;

    RowSynthesis(ModelSpec model, GenerationSettings settings, OutputLayout out, int batchSize, JobCounters counters) {
        this.model = model;
        this.settings = settings;
        this.out = out;
        this.batchSize = batchSize;
        this.counters = counters;
    }

    static StructType manifestSchema(boolean audioColumn) {
        List<StructField> f = new ArrayList<>(List.of(
                DataTypes.createStructField("row", DataTypes.LongType, false),
                DataTypes.createStructField("id", DataTypes.StringType, true),
                DataTypes.createStructField("path", DataTypes.StringType, true),
                DataTypes.createStructField("duration_s", DataTypes.DoubleType, true),
                DataTypes.createStructField("sample_rate", DataTypes.IntegerType, true),
                DataTypes.createStructField("semantic_tokens", DataTypes.IntegerType, true),
                DataTypes.createStructField("seed", DataTypes.LongType, true),
                DataTypes.createStructField("status", DataTypes.StringType, false),
                DataTypes.createStructField("error", DataTypes.StringType, true),
                DataTypes.createStructField("elapsed_s", DataTypes.DoubleType, true)));
        if (audioColumn) {
            f.add(DataTypes.createStructField("audio", DataTypes.BinaryType, true));
        }
        return DataTypes.createStructType(f);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Partition(input);
    }

    /** A row waiting for its batch. */
    private record Pending(long row, String id, String key, String text, long seed, String fingerprint) {}

    private final class Partition implements Iterator<Row> {
        private final Iterator<Row> input;
        private final ArrayDeque<Row> ready = new ArrayDeque<>();
        private final Map<String, List<Pending>> byVoice = new LinkedHashMap<>();

        Partition(Iterator<Row> input) {
            this.input = input;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty()) {
                if (input.hasNext()) {
                    accept(input.next());
                } else if (!byVoice.isEmpty()) {
                    String voice = byVoice.keySet().iterator().next();
                    speak(voice, byVoice.remove(voice));
                } else {
                    return false;
                }
            }
            return true;
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void accept(Row r) {
            long row = r.getLong(0);
            String id = r.getString(1);
            String text = r.getString(2);
            String voice = blankToNull(r.getString(3));
            String seedText = blankToNull(r.getString(4));
            Long seed = null;
            String error = null;
            if (id == null || id.isBlank()) {
                error = "id is missing";
            } else if (!r.isNullAt(5) && r.getLong(5) != row) {
                error = "duplicate id: row " + r.getLong(5)
                        + " has the same id (only the first row of an id is spoken)";
            }
            if (seedText != null) {
                try {
                    seed = RowSeeds.parse(seedText);
                } catch (IllegalArgumentException e) {
                    error = error != null ? error : e.getMessage();
                }
            } else if (id != null) {
                seed = RowSeeds.fromId(id);
            }
            if (error == null && (text == null || text.isBlank())) {
                error = "text is empty";
            }
            if (error != null) {
                fail(row, id, seed, error);
                return;
            }
            String key = OutputLayout.key(id);
            String fingerprint = OutputLayout.sha256(String.join("\u0000", text, String.valueOf(voice),
                    Long.toString(seed), settings.toString(), model.precision() + " "
                            + (model.modelId() != null ? model.modelId() : model.modelDir())));
            OutputLayout.Done done = out.finished(key, fingerprint);
            if (done != null) {
                counters.skipped().add(1);
                ready.add(manifestRow(row, key, done, readAudioIfNeeded(key)));
                return;
            }
            if (voice != null) {
                try {
                    voiceOf(voice); // an unknown voice fails its row now, not its batch later
                } catch (RuntimeException e) {
                    fail(row, id, seed, message(e));
                    return;
                }
            }
            String group = voice == null ? "" : voice;
            List<Pending> batch = byVoice.computeIfAbsent(group, g -> new ArrayList<>());
            batch.add(new Pending(row, id, key, text, seed, fingerprint));
            if (batch.size() >= batchSize) {
                speak(group, byVoice.remove(group));
            }
        }

        private VoicePreset voiceOf(String voice) {
            synth(); // counts the load when the first row of this JVM has a voice
            return ExecutorSynthesizer.voice(model, voice);
        }

        private Synthesizer synth() {
            return ExecutorSynthesizer.get(model, () -> counters.modelLoads().add(1));
        }

        /** Speaks one batch; when the batch fails, each row alone, so only the bad rows fail. */
        private void speak(String voice, List<Pending> batch) {
            VoicePreset preset = voice.isEmpty() ? null : voiceOf(voice);
            try {
                speakTogether(preset, batch);
            } catch (RuntimeException e) {
                if (batch.size() == 1) {
                    Pending p = batch.get(0);
                    fail(p.row(), p.id(), p.seed(), message(e));
                    return;
                }
                for (Pending p : batch) {
                    speak(voice, List.of(p));
                }
            }
        }

        private void speakTogether(VoicePreset voice, List<Pending> batch) {
            List<String> texts = new ArrayList<>(batch.size());
            long[] seeds = new long[batch.size()];
            for (int i = 0; i < batch.size(); i++) {
                texts.add(batch.get(i).text());
                seeds[i] = batch.get(i).seed();
            }
            long start = System.nanoTime();
            List<Speech> speech = synth().generate(texts, seeds, settings.options(voice, batchSize));
            // a row's share of its batch's time
            double elapsed = (System.nanoTime() - start) / 1e9 / batch.size();
            for (int i = 0; i < batch.size(); i++) {
                Pending p = batch.get(i);
                Speech s = speech.get(i);
                byte[] wav = wav(s);
                OutputLayout.Done done = new OutputLayout.Done(p.id(), p.fingerprint(), s.durationSeconds(),
                        s.sampleRate(), s.semanticTokens().length, p.seed(), elapsed);
                try {
                    out.finish(p.key(), wav, done);
                } catch (IOException e) {
                    // storage trouble is the task's, not the row's: Spark retries the task
                    throw new UncheckedIOException("Cannot write the output of row " + p.row() + ": " + e.getMessage(),
                            e);
                }
                counters.synthesized().add(1);
                counters.audioSeconds().add(s.durationSeconds());
                ready.add(manifestRow(p.row(), p.key(), done, out.audioInParquet() ? wav : null));
            }
        }

        private byte[] readAudioIfNeeded(String key) {
            if (!out.audioInParquet()) {
                return null;
            }
            try {
                return out.readAudio(key);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private Row manifestRow(long row, String key, OutputLayout.Done d, byte[] audio) {
            Object[] v = {row, d.id(), out.manifestPath(key), d.durationS(), d.sampleRate(), d.semanticTokens(),
                d.seed(), "ok", null, d.elapsedS()};
            return RowFactory.create(out.audioInParquet() ? append(v, audio) : v);
        }

        private void fail(long row, String id, Long seed, String error) {
            counters.failed().add(1);
            Object[] v = {row, id, null, null, null, null, seed, "failed", error, null};
            ready.add(RowFactory.create(out.audioInParquet() ? append(v, null) : v));
        }
    }

    private static Object[] append(Object[] v, Object last) {
        Object[] w = java.util.Arrays.copyOf(v, v.length + 1);
        w[v.length] = last;
        return w;
    }

    private static byte[] wav(Speech s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            s.writeWav(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
