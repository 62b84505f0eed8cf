package io.github.bark4j.internal.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * Long-form text splitting, measured with the fixture's real tokenizer (multilingual BERT): sentence
 * boundaries in several languages, no false breaks at abbreviations, decimals or quotes, packing
 * within the token budget, over-long sentences cut at clauses, words, characters; never a lost or
 * repeated character.
 */
class SegmenterTest {
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = TextTokenizer.load(SharedFiles.tinyBark().resolve("tokenizer.json"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static int tokens(String s) {
        return tokenizer.encode(s).length;
    }

    private static List<String> sentences(String text) {
        String s = TextTokenizer.normalizeWhitespace(text);
        List<String> out = new ArrayList<>();
        for (int[] span : Segmenter.sentences(s)) {
            out.add(s.substring(span[0], span[1]));
        }
        return out;
    }

    /** Splits with a budget, checking the invariants every split must keep. */
    private static List<String> split(String text, int budget) {
        List<String> segments = new Segmenter(SegmenterTest::tokens, budget).split(text);
        assertTrue(!segments.isEmpty());
        StringBuilder joined = new StringBuilder();
        for (String seg : segments) {
            assertEquals(seg.strip(), seg, "segments are trimmed");
            assertTrue(!seg.isEmpty(), "no empty segment");
            assertTrue(tokens(seg) <= budget, "'" + seg + "' has " + tokens(seg) + " tokens > " + budget);
            joined.append(seg);
        }
        assertEquals(text.replaceAll("\\s+", ""), joined.toString().replaceAll("\\s+", ""),
                "every non-space character exactly once, in order");
        return segments;
    }

    @Test
    void englishSentencesWithAbbreviationsNumbersQuotesAndEllipses() {
        String text = "Dr. Smith arrived at 9 a.m. with Mr. J. R. Brown. The budget grew to 3.5 million dollars, "
                + "e.g. for roads! \"Really?\" she asked. Wait... what happened next? He said \"Stop.\" Then he left.";
        assertEquals(List.of(
                "Dr. Smith arrived at 9 a.m. with Mr. J. R. Brown.",
                "The budget grew to 3.5 million dollars, e.g. for roads!",
                "\"Really?\" she asked.",
                "Wait... what happened next?",
                "He said \"Stop.\"",
                "Then he left."), sentences(text));
        // a budget of one sentence's size keeps sentences apart; a large one packs them all
        List<String> perSentence = split(text, 17);
        assertTrue(perSentence.size() >= 5, perSentence.toString());
        assertEquals(List.of(TextTokenizer.normalizeWhitespace(text)), split(text, 256));
    }

    @Test
    void germanSentencesWithAbbreviationsAndLowQuotes() {
        String text = "Das ist z. B. ein Test. Er kam um 3.5 Uhr an. Herr Dr. Müller sagt: „Hallo!“ Dann ging er "
                + "nach Hause, bzw. ins Büro.";
        assertEquals(List.of(
                "Das ist z. B. ein Test.",
                "Er kam um 3.5 Uhr an.",
                "Herr Dr. Müller sagt: „Hallo!“",
                "Dann ging er nach Hause, bzw. ins Büro."), sentences(text));
        split(text, 10);
    }

    @Test
    void chineseAndJapaneseSentencePunctuation() {
        assertEquals(List.of("今天天气很好。", "我们去公园吧！", "你觉得怎么样？", "好的。"),
                sentences("今天天气很好。我们去公园吧！你觉得怎么样？好的。"));
        assertEquals(List.of("こんにちは。", "元気ですか？", "はい、元気です！", "「ありがとう。」", "またね。"),
                sentences("こんにちは。元気ですか？はい、元気です！「ありがとう。」またね。"));
        // each character and each full-width mark is one token: 7, 7, 7 and 3
        List<String> zh = split("今天天气很好。我们去公园吧！你觉得怎么样？好的。", 10);
        assertEquals(List.of("今天天气很好。", "我们去公园吧！", "你觉得怎么样？好的。"), zh);
    }

    @Test
    void packsSentencesUpToTheBudget() {
        // the fixture's synthetic vocabulary spells these out: 4, 4, 6, 5, 5 and 4 tokens
        String text = "One. Two. Three. Four. Five. Six.";
        assertEquals(List.of(4, 4, 6, 5, 5, 4), sentences(text).stream().map(SegmenterTest::tokens).toList());
        assertEquals(List.of("One. Two.", "Three.", "Four. Five.", "Six."), split(text, 10));
        assertEquals(List.of("One. Two.", "Three. Four.", "Five. Six."), split(text, 11));
        assertEquals(List.of(text), split(text, 28));
    }

    @Test
    void overlongSentenceIsCutAtClausesThenWordsThenCharacters() {
        String clauses = "When the rain stopped, the children ran outside; they played in the puddles, "
                + "and their mother watched from the window";
        // clauses of 17, 19, 16 and 21 tokens: no two fit together in 30
        assertEquals(List.of("When the rain stopped,", "the children ran outside;", "they played in the puddles,",
                "and their mother watched from the window"), split(clauses, 30));
        // in 36, the first two fit together
        assertEquals(List.of("When the rain stopped, the children ran outside;", "they played in the puddles,",
                "and their mother watched from the window"), split(clauses, 36));
        // a clause over the budget is cut between words, as full as the budget allows
        List<String> small = split(clauses, 12);
        assertEquals("When the rain", small.get(0));

        String words = "the ".repeat(700).strip(); // no punctuation at all, 700 tokens
        List<String> byWord = split(words, 256);
        assertEquals(List.of(256, 256, 188), byWord.stream().map(SegmenterTest::tokens).toList());

        String chinese = "我".repeat(600); // no spaces, no punctuation: one token per character
        List<String> byChar = split(chinese, 256);
        assertEquals(List.of(256, 256, 88), byChar.stream().map(String::length).toList());

        String oneWord = "a".repeat(2000) + " end."; // a single word too long for the tokenizer
        split(oneWord, 3);
    }

    @Test
    void blankOrNullTextIsRejected() {
        Segmenter segmenter = new Segmenter(SegmenterTest::tokens, 48);
        for (String text : new String[] {"", "  \n\t ", "\u00a0\u2003", null}) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> segmenter.split(text));
            assertTrue(e.getMessage().contains("text"), e.getMessage());
        }
    }

    @Test
    void whitespaceIsNormalizedAndSurrogatePairsStayWhole() {
        List<String> segments = split("  Hello\n\n  world.\tSecond   sentence. 😀😀😀 ", 256);
        assertEquals(List.of("Hello world. Second sentence. 😀😀😀"), segments);
        for (String seg : split("😀".repeat(50), 2)) {
            assertEquals(seg.length(), 2 * seg.codePointCount(0, seg.length()), "whole code points: " + seg);
        }
    }
}
