package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Long-form speech on the fixture in greedy FP64: segments equal single generations of their text
 * (with the preset, or the first segment's voice), joined by exact pauses; batched or sequential
 * alike; streams equal {@code generate}; closing a stream or interrupting a thread stops the work
 * within a decode step and leaves only the weights in native memory.
 */
class LongFormTest {
    /**
     * Four sentences of 8, 6, 12 and 12 tokens (the fixture's tokenizer), each its own segment at a
     * 13-token budget; the shorter texts are their first two and three.
     */
    private static final String TEXT = "Hello world, this is a test. The model can generate speech. "
            + "People like music in the garden. We speak text with a small model.";
    private static final String TEXT2 = "Hello world, this is a test. The model can generate speech.";
    private static final String TEXT3 = TEXT2 + " People like music in the garden.";
    private static final int BUDGET = 13;

    private static Synthesizer synth;
    private static VoicePreset preset;

    @BeforeAll
    static void load() {
        synth = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).precision(Precision.FP64).build();
        preset = VoicePreset.load(SharedFiles.voice("v2/en_speaker_6"));
    }

    @AfterAll
    static void close() {
        synth.close();
    }

    private static GenerationOptions.Builder greedy() {
        return GenerationOptions.builder().greedy().maxSemanticSeconds(0.1).maxSegmentTokens(BUDGET);
    }

    private static float[] slice(Speech s, Speech.Segment seg) {
        return Arrays.copyOfRange(s.samples(), seg.startSample(), seg.endSample());
    }

    /** The whole speech is its segments' audio with exactly {@code pause} zero samples between them. */
    private static void assertJoinedWithPauses(Speech whole, List<float[]> parts, int pause) {
        List<Speech.Segment> segs = whole.segments();
        assertEquals(parts.size(), segs.size());
        float[] all = whole.samples();
        int expectedLength = pause * (parts.size() - 1);
        for (int i = 0; i < parts.size(); i++) {
            Speech.Segment seg = segs.get(i);
            assertArrayEquals(parts.get(i), slice(whole, seg), "segment " + i + " samples");
            expectedLength += parts.get(i).length;
            if (i > 0) {
                Speech.Segment prev = segs.get(i - 1);
                assertEquals(pause, seg.startSample() - prev.endSample(), "pause before segment " + i);
                for (int j = prev.endSample(); j < seg.startSample(); j++) {
                    assertEquals(0f, all[j], "pause sample " + j);
                }
            }
        }
        assertEquals(0, segs.get(0).startSample());
        assertEquals(all.length, segs.get(segs.size() - 1).endSample());
        assertEquals(expectedLength, all.length);
    }

    private static void assertSameSpeech(Speech expected, Speech actual, String what) {
        assertArrayEquals(expected.semanticTokens(), actual.semanticTokens(), what + " semantic");
        assertArrayEquals(expected.coarseTokens(), actual.coarseTokens(), what + " coarse");
        assertArrayEquals(expected.fineTokens(), actual.fineTokens(), what + " fine");
        assertArrayEquals(expected.samples(), actual.samples(), what + " samples");
    }

    @Test
    void withAPresetEverySegmentIsASingleGenerationOfItsText() {
        GenerationOptions o = greedy().voice(preset).build();
        Speech whole = synth.generate(TEXT, o);
        List<Speech.Segment> segs = whole.segments();
        assertEquals(List.of("Hello world, this is a test.", "The model can generate speech.",
                "People like music in the garden.", "We speak text with a small model."),
                segs.stream().map(Speech.Segment::text).toList());
        List<float[]> parts = new ArrayList<>();
        List<Integer> semanticLengths = new ArrayList<>();
        for (Speech.Segment seg : segs) {
            Speech single = synth.generate(seg.text(), o);
            assertTrue(single.samples().length > 0, "the fixture speaks every segment");
            parts.add(single.samples());
            semanticLengths.add(single.semanticTokens().length);
        }
        assertJoinedWithPauses(whole, parts, 6000); // 0.25 s at 24 kHz
        assertEquals(semanticLengths.stream().mapToInt(Integer::intValue).sum(), whole.semanticTokens().length);

        // sequential segments (batches of one) give the same audio; here without pauses
        Speech sequential = synth.generate(TEXT, o.toBuilder().maxBatch(1).pauseSeconds(0).build());
        assertJoinedWithPauses(sequential, parts, 0);
        assertArrayEquals(whole.semanticTokens(), sequential.semanticTokens());
        assertArrayEquals(whole.fineTokens(), sequential.fineTokens());
    }

    @Test
    void withoutAVoiceTheFirstSegmentIsTheVoiceOfTheRest() {
        GenerationOptions o = greedy().build();
        Speech whole = synth.generate(TEXT, o);
        List<Speech.Segment> segs = whole.segments();
        assertEquals(4, segs.size());
        Speech first = synth.generate(segs.get(0).text(), o);
        GenerationOptions voiced = o.toBuilder().voice(first.toVoicePreset()).build();
        List<float[]> parts = new ArrayList<>();
        parts.add(first.samples());
        for (Speech.Segment seg : segs.subList(1, segs.size())) {
            parts.add(synth.generate(seg.text(), voiced).samples());
        }
        assertJoinedWithPauses(whole, parts, 6000);
    }

    @Test
    void seededSegmentIUsesSeedPlusI() {
        GenerationOptions o = GenerationOptions.builder().seed(77).maxSemanticSeconds(0.1).maxSegmentTokens(BUDGET)
                .voice(preset).build();
        Speech whole = synth.generate(TEXT2, o);
        List<float[]> parts = new ArrayList<>();
        List<Speech.Segment> segs = whole.segments();
        for (int i = 0; i < segs.size(); i++) {
            parts.add(synth.generate(segs.get(i).text(), o.toBuilder().seed(77 + i).build()).samples());
        }
        assertJoinedWithPauses(whole, parts, 6000);
        // and the stream samples the same
        try (Stream<Speech> stream = synth.stream(TEXT2, o)) {
            List<Speech> elements = stream.toList();
            assertEquals(2, elements.size());
            for (int i = 0; i < elements.size(); i++) {
                assertArrayEquals(parts.get(i), elements.get(i).samples(), "stream element " + i);
            }
        }
    }

    @Test
    void textThatFitsOneSegmentIsOneGeneration() {
        GenerationOptions o = greedy().build();
        String text = "Hello world, this is a test.";
        Speech longForm = synth.generate(text, o);
        Speech single = synth.generate(text, o.toBuilder().longForm(false).build());
        assertSameSpeech(single, longForm, "long-form of a short text");
        assertEquals(List.of(new Speech.Segment(text, 0, single.samples().length)), longForm.segments());
        assertEquals(single.segments(), longForm.segments());
    }

    @Test
    void longTextIsSpokenWholeNotTruncated() {
        String text = "Hello world. ".repeat(120); // 360 tokens: one generation would cut it
        GenerationOptions o = GenerationOptions.builder().greedy().maxSemanticSeconds(0.05).maxSegmentTokens(256)
                .maxBatch(2).build();
        Speech s = synth.generate(text, o);
        assertFalse(s.textTruncated());
        assertEquals(2, s.segments().size());
        String spoken = String.join(" ", s.segments().stream().map(Speech.Segment::text).toList());
        assertEquals(text.strip(), spoken);
        assertTrue(s.warnings().isEmpty(), s.warnings().toString());
    }

    @Test
    void batchOfTextsSpeaksEachAsASingleCallWould() {
        GenerationOptions o = greedy().voice(preset).build();
        List<String> texts = List.of("Short one.", TEXT2, "Another short text.");
        List<Speech> out = synth.generate(texts, o.toBuilder().maxBatch(2).build());
        assertEquals(2, out.get(1).segments().size());
        for (int i = 0; i < texts.size(); i++) {
            Speech single = synth.generate(texts.get(i), o);
            assertSameSpeech(single, out.get(i), "text " + i);
            assertEquals(single.segments(), out.get(i).segments());
        }
    }

    @Test
    void streamElementsAreTheSegmentsOfGenerate() {
        for (VoicePreset voice : new VoicePreset[] {preset, null}) {
            GenerationOptions.Builder b = greedy();
            if (voice != null) {
                b.voice(voice);
            }
            GenerationOptions o = b.build();
            Speech whole = synth.generate(TEXT3, o);
            List<Speech> elements;
            try (Stream<Speech> stream = synth.stream(TEXT3, o)) {
                elements = stream.toList();
            }
            assertEquals(whole.segments().size(), elements.size());
            List<float[]> parts = new ArrayList<>();
            for (int i = 0; i < elements.size(); i++) {
                Speech e = elements.get(i);
                assertEquals(whole.segments().get(i).text(), e.segments().get(0).text());
                assertEquals(List.of(new Speech.Segment(e.segments().get(0).text(), 0, e.samples().length)),
                        e.segments());
                parts.add(e.samples());
            }
            assertJoinedWithPauses(whole, parts, 6000);
        }
    }

    @Test
    void badInputFailsWhenTheStreamIsMade() {
        assertThrows(InvalidInputException.class, () -> synth.stream("  ", greedy().build()));
        assertThrows(InvalidInputException.class, () -> synth.stream(null, greedy().build()));
        for (Runnable bad : List.<Runnable>of(
                () -> GenerationOptions.builder().pauseSeconds(-0.1),
                () -> GenerationOptions.builder().pauseSeconds(Double.NaN),
                () -> GenerationOptions.builder().pauseSeconds(Double.POSITIVE_INFINITY),
                () -> GenerationOptions.builder().maxBatch(0),
                () -> GenerationOptions.builder().maxSegmentTokens(0),
                () -> GenerationOptions.builder().maxSegmentTokens(257))) {
            assertThrows(InvalidInputException.class, bad::run);
        }
    }

    @Test
    void closingAStreamAfterItsFirstElementStopsTheWork() {
        NDManager weights = synth.model().manager();
        int before = weights.getManagedArrays().size();
        AtomicInteger events = new AtomicInteger();
        GenerationOptions o = greedy().voice(preset).progress((stage, done, total) -> events.incrementAndGet()).build();
        Speech first;
        int afterFirst;
        try (Stream<Speech> stream = synth.stream(TEXT3, o)) {
            first = stream.iterator().next();
            afterFirst = events.get();
        }
        assertTrue(afterFirst > 0);
        assertEquals(afterFirst, events.get(), "no work after the stream is closed");
        assertEquals(before, weights.getManagedArrays().size(), "no native arrays left");
        assertArrayEquals(synth.generate("Hello world, this is a test.", greedy().voice(preset).build()).samples(),
                first.samples());
    }

    @Test
    void closingAStreamWhileASegmentIsGeneratingCancelsItWithinAStep() {
        NDManager weights = synth.model().manager();
        int before = weights.getManagedArrays().size();
        AtomicReference<Stream<Speech>> ref = new AtomicReference<>();
        AtomicInteger segmentsDone = new AtomicInteger();
        AtomicInteger stepsAfterClose = new AtomicInteger();
        AtomicBoolean closed = new AtomicBoolean();
        GenerationOptions o = greedy().voice(preset).progress(new ProgressListener() {
            @Override
            public void onProgress(Stage stage, int done, int total) {
                if (closed.get()) {
                    stepsAfterClose.incrementAndGet();
                } else if (segmentsDone.get() == 1 && stage == Stage.SEMANTIC && done == 3) {
                    closed.set(true);
                    ref.get().close(); // as another thread would, while the second batch decodes
                }
            }

            @Override
            public void onSegment(int done, int total) {
                segmentsDone.set(done);
            }
        }).build();
        try (Stream<Speech> stream = synth.stream(TEXT3, o)) {
            ref.set(stream);
            Iterator<Speech> it = stream.iterator();
            assertTrue(it.next().samples().length > 0);
            GenerationCancelledException e = assertThrows(GenerationCancelledException.class, it::next);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertTrue(e instanceof BarkException);
        }
        assertTrue(closed.get());
        assertEquals(0, stepsAfterClose.get(), "stopped at the next decode step");
        assertEquals(1, segmentsDone.get());
        assertEquals(before, weights.getManagedArrays().size(), "no native arrays left");
        // and the synthesizer is still fine
        assertTrue(synth.generate("Hello world.", greedy().build()).samples().length > 0);
    }

    @Test
    void interruptingAGeneratingThreadEndsItWithGenerationCancelledException() throws Exception {
        NDManager weights = synth.model().manager();
        int before = weights.getManagedArrays().size();
        for (Stage at : new Stage[] {Stage.SEMANTIC, Stage.COARSE, Stage.FINE}) {
            CountDownLatch reached = new CountDownLatch(1);
            AtomicReference<Stage> last = new AtomicReference<>();
            AtomicInteger eventsAfter = new AtomicInteger();
            AtomicBoolean interrupted = new AtomicBoolean();
            // a fixed semantic length: the fixture's model would otherwise stop wherever EOS wins
            GenerationOptions o = GenerationOptions.builder().greedy().fixedSemanticTokens(at == Stage.SEMANTIC ? 700 : 40)
                    .progress((stage, done, total) -> {
                        if (interrupted.get()) {
                            eventsAfter.incrementAndGet();
                        }
                        last.set(stage);
                        if (stage == at) {
                            reached.countDown();
                            try {
                                // hold the generator here until it has been interrupted
                                while (!Thread.currentThread().isInterrupted()) {
                                    Thread.sleep(1);
                                }
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            interrupted.set(true);
                        }
                    }).build();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean flagAfter = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try {
                    synth.generate("Hello world, this is a long test.", o);
                } catch (Throwable e) {
                    thrown.set(e);
                }
                flagAfter.set(Thread.currentThread().isInterrupted());
            });
            t.start();
            assertTrue(reached.await(120, TimeUnit.SECONDS), "generation reached " + at);
            t.interrupt();
            t.join(60_000);
            assertFalse(t.isAlive());
            assertTrue(thrown.get() instanceof GenerationCancelledException, String.valueOf(thrown.get()));
            assertTrue(thrown.get().getMessage().contains("interrupted"), thrown.get().getMessage());
            assertEquals(0, eventsAfter.get(), "no progress after the interrupt (" + at + ")");
            assertEquals(at, last.get());
            assertTrue(flagAfter.get(), "the interrupt flag stays set");
            assertEquals(before, weights.getManagedArrays().size(), "no native arrays left after " + at);
        }
        assertTrue(synth.generate("Hello world.", greedy().build()).samples().length > 0, "still usable");
    }
}
