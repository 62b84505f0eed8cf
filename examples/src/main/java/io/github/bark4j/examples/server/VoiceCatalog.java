package io.github.bark4j.examples.server;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The voices a request may name: the model's own presets (resolved by the library, as
 * {@code GenerationOptions.voice(String)} does), the {@code .npz} files of an optional voices folder
 * (named by their path in it without {@code .npz}), and OpenAI's voice names as aliases of
 * {@code v2/en_speaker_0..9}.
 */
final class VoiceCatalog {
    /** OpenAI's voice names, each mapped to one of Bark's ten English speakers. */
    static final Map<String, String> OPENAI_ALIASES;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        String[] names = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"};
        for (int i = 0; i < names.length; i++) {
            m.put(names[i], "v2/en_speaker_" + i);
        }
        OPENAI_ALIASES = Collections.unmodifiableMap(m);
    }

    /** A resolved voice: a model preset by name, or a preset loaded from the voices folder. */
    record Voice(String name, String modelPreset, VoicePreset preset) {
        void applyTo(GenerationOptions.Builder b) {
            if (modelPreset != null) {
                b.voice(modelPreset);
            } else {
                b.voice(preset);
            }
        }
    }

    private final Set<String> modelPresets;
    private final Map<String, Path> folderPresets;
    private final Map<String, VoicePreset> loaded = new ConcurrentHashMap<>();

    VoiceCatalog(List<String> modelPresets, Path voicesDir) {
        this.modelPresets = new TreeSet<>(modelPresets);
        this.folderPresets = voicesDir == null ? Map.of() : scan(voicesDir);
    }

    private static Map<String, Path> scan(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--voices " + dir + " is not a folder");
        }
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(p -> p.getFileName().toString().endsWith(".npz") && Files.isRegularFile(p)).forEach(p -> {
                String rel = dir.relativize(p).toString().replace('\\', '/');
                out.put(rel.substring(0, rel.length() - ".npz".length()), p);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list --voices " + dir, e);
        }
        return out;
    }

    /** Every name a request may use, sorted: model presets, then folder presets. */
    List<String> names() {
        Set<String> all = new TreeSet<>(modelPresets);
        all.addAll(folderPresets.keySet());
        return new ArrayList<>(all);
    }

    /** The OpenAI names that resolve here, with their targets. */
    Map<String, String> aliases() {
        Map<String, String> out = new LinkedHashMap<>();
        OPENAI_ALIASES.forEach((alias, target) -> {
            String found = find(target);
            if (found != null) {
                out.put(alias, found);
            }
        });
        return out;
    }

    /**
     * Resolves a voice name.
     *
     * @throws ApiError 400 for an unknown name or an unreadable preset file
     */
    Voice resolve(String name) {
        String target = OPENAI_ALIASES.getOrDefault(name, name);
        String found = find(target);
        if (found == null) {
            String hint = names().isEmpty() ? "this server has no voice presets (omit voice, or start it with --voices DIR)"
                    : "see GET /v1/voices";
            throw ApiError.badRequest("Unknown voice '" + name + "': " + hint + ".", "voice", "voice_not_found");
        }
        if (modelPresets.contains(found)) {
            return new Voice(found, found, null);
        }
        try {
            return new Voice(found, null, loaded.computeIfAbsent(found, n -> VoicePreset.load(folderPresets.get(n))));
        } catch (BarkException e) {
            throw ApiError.badRequest("Voice '" + name + "' cannot be used: " + e.getMessage(), "voice", "invalid_voice");
        }
    }

    /** The catalog name for a requested name: exact, or (for a flat voices folder) its last path part. */
    private String find(String name) {
        if (modelPresets.contains(name) || folderPresets.containsKey(name)) {
            return name;
        }
        String base = name.substring(name.lastIndexOf('/') + 1);
        if (folderPresets.containsKey(base)) {
            return base;
        }
        return null;
    }
}
