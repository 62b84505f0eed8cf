package io.github.bark4j.internal.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import io.github.bark4j.ModelLoadException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Bark's text front end: whitespace collapsed as the original does ({@code re.sub(r"\s+", " ")} then
 * strip), then the model's {@code tokenizer.json} (multilingual BERT WordPiece) without special
 * tokens, padding or truncation — cutting to 256 tokens is the caller's visible decision.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public static TextTokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new ModelLoadException("tokenizer.json not found: " + tokenizerJson);
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
                    "addSpecialTokens", "false",
                    "padding", "false",
                    "truncation", "false",
                    "modelMaxLength", String.valueOf(Integer.MAX_VALUE / 2)));
            return new TextTokenizer(t);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("Cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Collapses every run of Unicode whitespace (as Python's {@code \s}) to one space and trims. */
    public static String normalizeWhitespace(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        boolean pendingSpace = false;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (isPythonWhitespace(cp)) {
                pendingSpace = sb.length() > 0;
            } else {
                if (pendingSpace) {
                    sb.append(' ');
                    pendingSpace = false;
                }
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    /** Python's str.isspace: Java's whitespace plus the no-break spaces and NEL. */
    static boolean isPythonWhitespace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    /** Token ids (without special tokens) of already-normalized text. */
    public long[] encode(String normalized) {
        Encoding e = tokenizer.encode(normalized);
        return e.getIds();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
