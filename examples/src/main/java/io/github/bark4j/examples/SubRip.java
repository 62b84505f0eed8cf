package io.github.bark4j.examples;

import io.github.bark4j.Speech;

import java.util.List;
import java.util.Locale;

/** SubRip (.srt) captions from the segments of a speech: one cue per segment, lines of at most 42 characters. */
final class SubRip {
    static final int LINE = 42;

    private SubRip() {}

    static String captions(List<Speech.Segment> segments, int sampleRate) {
        StringBuilder sb = new StringBuilder();
        int cue = 1;
        for (Speech.Segment s : segments) {
            sb.append(cue++).append('\n');
            sb.append(time(s.startSample(), sampleRate)).append(" --> ").append(time(s.endSample(), sampleRate))
                    .append('\n');
            sb.append(wrap(s.text())).append("\n\n");
        }
        return sb.toString();
    }

    /** HH:MM:SS,mmm of a sample offset, rounded to the millisecond. */
    static String time(long sample, int sampleRate) {
        long ms = Math.round(sample * 1000.0 / sampleRate);
        return String.format(Locale.ROOT, "%02d:%02d:%02d,%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60,
                ms % 1000);
    }

    /** Breaks text between words into lines of at most {@link #LINE} characters (a longer word stays whole). */
    static String wrap(String text) {
        StringBuilder out = new StringBuilder();
        int lineLength = 0;
        for (String word : text.split(" ")) {
            if (word.isEmpty()) {
                continue;
            }
            if (lineLength > 0 && lineLength + 1 + word.length() > LINE) {
                out.append('\n');
                lineLength = 0;
            } else if (lineLength > 0) {
                out.append(' ');
                lineLength++;
            }
            out.append(word);
            lineLength += word.length();
        }
        return out.toString();
    }
}
