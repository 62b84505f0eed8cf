package io.github.bark4j.internal.pipeline;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.internal.model.TextTokenizer;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * Splits text into segments for long-form speech: whitespace is normalized as for one generation,
 * the text is cut into sentences ({@link BreakIterator}, plus repairs for abbreviations, initials and
 * quotes), and consecutive sentences are packed into segments of at most {@code budget} tokens as
 * the model's tokenizer counts them. A sentence over the budget is cut at clause punctuation, then
 * between words, then (text without spaces, e.g. Chinese) between characters. Segments are
 * consecutive substrings of the normalized text, so no character is lost or repeated.
 */
public final class Segmenter {
    /** Words that end with a period without ending a sentence (compared in lower case). */
    private static final Set<String> ABBREVIATIONS = Set.of(
            "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "nr", "ca", "bzw", "vgl", "hr", "fr",
            "dipl", "ing", "inc", "ltd", "corp", "gen", "col", "lt", "sgt", "capt", "rev", "hon", "approx", "dept",
            "fig", "vol", "mme", "mlle", "sra", "dra");
    /** Clause boundaries for cutting an over-long sentence (Latin and CJK forms). */
    private static final String CLAUSE_PUNCTUATION = ",;:—–、，；：…";

    private final ToIntFunction<String> tokens;
    private final int budget;

    /**
     * @param tokens the number of tokens of a (normalized) piece of text
     * @param budget the most tokens one segment may have, at least 1
     */
    public Segmenter(ToIntFunction<String> tokens, int budget) {
        if (budget < 1) {
            throw new IllegalArgumentException("budget must be at least 1, got " + budget);
        }
        this.tokens = tokens;
        this.budget = budget;
    }

    /**
     * The segments of {@code text}, in order.
     *
     * @throws InvalidInputException when the text is null, empty or only whitespace
     */
    public List<String> split(String text) {
        if (text == null) {
            throw new InvalidInputException("text must not be null");
        }
        String s = TextTokenizer.normalizeWhitespace(text);
        if (s.isEmpty()) {
            throw new InvalidInputException("text is blank: give at least one word to speak");
        }
        List<int[]> units = new ArrayList<>();
        for (int[] sentence : sentences(s)) {
            fit(s, sentence, 0, units);
        }
        List<String> out = new ArrayList<>();
        int start = -1;
        int end = -1;
        for (int[] u : units) {
            if (start >= 0 && tokens.applyAsInt(s.substring(start, u[1])) <= budget) {
                end = u[1];
                continue;
            }
            if (start >= 0) {
                out.add(s.substring(start, end));
            }
            start = u[0];
            end = u[1];
        }
        out.add(s.substring(start, end));
        return out;
    }

    /**
     * Adds {@code span} to {@code out} as pieces that each fit the budget: the span itself if it
     * fits, else its parts at the next finer level (0 clauses, 1 words, 2 characters).
     */
    private void fit(String s, int[] span, int level, List<int[]> out) {
        if (level > 2 || tokens.applyAsInt(s.substring(span[0], span[1])) <= budget) {
            out.add(span);
            return;
        }
        List<int[]> parts = switch (level) {
            case 0 -> clauses(s, span);
            case 1 -> words(s, span);
            default -> characters(s, span);
        };
        if (parts.size() == 1 && level < 2) {
            fit(s, span, level + 1, out);
            return;
        }
        // pack the parts greedily, each piece still within the budget
        List<int[]> pieces = new ArrayList<>();
        for (int[] part : parts) {
            fit(s, part, level + 1, pieces);
        }
        int[] current = null;
        for (int[] p : pieces) {
            if (current != null && tokens.applyAsInt(s.substring(current[0], p[1])) <= budget) {
                current = new int[] {current[0], p[1]};
            } else {
                if (current != null) {
                    out.add(current);
                }
                current = p;
            }
        }
        out.add(current);
    }

    /** Sentence spans of normalized text, trimmed, with false breaks (abbreviations, quotes) repaired. */
    static List<int[]> sentences(String s) {
        BreakIterator it = BreakIterator.getSentenceInstance(Locale.ROOT);
        it.setText(s);
        List<Integer> breaks = new ArrayList<>();
        for (int b = it.next(); b != BreakIterator.DONE && b < s.length(); b = it.next()) {
            breaks.add(b);
        }
        List<int[]> out = new ArrayList<>();
        int start = 0;
        for (int b : breaks) {
            // closing quotes and brackets that the iterator left at the next sentence's start belong here
            int moved = b;
            while (moved < s.length() && isClosing(s.charAt(moved))) {
                moved++;
            }
            if (moved > b && (moved == s.length() || s.charAt(moved) == ' ')) {
                b = moved;
            }
            if (b >= s.length() || falseBreak(s, start, b)) {
                continue;
            }
            addTrimmed(s, start, b, out);
            start = b;
        }
        addTrimmed(s, start, s.length(), out);
        return out;
    }

    /** A break after an abbreviation or an initial, or before a lower-case word, is not a sentence end. */
    private static boolean falseBreak(String s, int start, int b) {
        int end = b;
        while (end > start && s.charAt(end - 1) == ' ') {
            end--;
        }
        int next = b;
        while (next < s.length() && s.charAt(next) == ' ') {
            next++;
        }
        if (next < s.length() && Character.isLowerCase(s.codePointAt(next))) {
            return true;
        }
        if (end == start || s.charAt(end - 1) != '.') {
            return false;
        }
        int wordStart = end - 1;
        while (wordStart > start && s.charAt(wordStart - 1) != ' ') {
            wordStart--;
        }
        String word = s.substring(wordStart, end - 1);
        while (!word.isEmpty() && !Character.isLetterOrDigit(word.charAt(0))) {
            word = word.substring(1); // "(Dr." → "Dr"
        }
        if (word.isEmpty()) {
            return false;
        }
        if (word.codePointCount(0, word.length()) == 1 && Character.isLetter(word.codePointAt(0))) {
            return true; // an initial: "J. R. R. Tolkien", "z. B."
        }
        return word.indexOf('.') >= 0 || ABBREVIATIONS.contains(word.toLowerCase(Locale.ROOT)); // "e.g.", "Dr."
    }

    private static boolean isClosing(char c) {
        int type = Character.getType(c);
        return type == Character.END_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
                || c == '"' || c == '\'' || c == '“' || c == '」' || c == '』';
    }

    /** Pieces of a span ending after clause punctuation. */
    private static List<int[]> clauses(String s, int[] span) {
        List<int[]> out = new ArrayList<>();
        int start = span[0];
        for (int i = span[0]; i < span[1]; i++) {
            char c = s.charAt(i);
            if (CLAUSE_PUNCTUATION.indexOf(c) >= 0 && i + 1 < span[1]) {
                boolean cjk = c >= '\u3000';
                if (cjk || s.charAt(i + 1) == ' ') {
                    addTrimmed(s, start, i + 1, out);
                    start = i + 1;
                }
            }
        }
        addTrimmed(s, start, span[1], out);
        return out;
    }

    /** Space-separated words of a span. */
    private static List<int[]> words(String s, int[] span) {
        List<int[]> out = new ArrayList<>();
        int start = span[0];
        for (int i = span[0]; i < span[1]; i++) {
            if (s.charAt(i) == ' ') {
                addTrimmed(s, start, i, out);
                start = i + 1;
            }
        }
        addTrimmed(s, start, span[1], out);
        return out;
    }

    /** Code points of a span (never splitting a surrogate pair). */
    private static List<int[]> characters(String s, int[] span) {
        List<int[]> out = new ArrayList<>();
        for (int i = span[0]; i < span[1]; ) {
            int next = i + Character.charCount(s.codePointAt(i));
            out.add(new int[] {i, next});
            i = next;
        }
        return out;
    }

    private static void addTrimmed(String s, int start, int end, List<int[]> out) {
        while (start < end && s.charAt(start) == ' ') {
            start++;
        }
        while (end > start && s.charAt(end - 1) == ' ') {
            end--;
        }
        if (end > start) {
            out.add(new int[] {start, end});
        }
    }
}
