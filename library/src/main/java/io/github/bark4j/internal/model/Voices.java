package io.github.bark4j.internal.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.ModelDownloadException;
import io.github.bark4j.VoicePreset;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Named voice presets of a model in the Hugging Face layout: {@code speaker_embeddings_path.json} maps
 * a name ("v2/en_speaker_6") to three {@code .npy} files under {@code speaker_embeddings/}. Files are
 * obtained through a resolver, so a hub model downloads only the presets that are used.
 */
public final class Voices {
    public static final String INDEX = "speaker_embeddings_path.json";
    private static final String[] PARTS = {"semantic_prompt", "coarse_prompt", "fine_prompt"};

    private final Path modelDir;
    private final Function<String, Path> files;

    public Voices(Path modelDir, Function<String, Path> files) {
        this.modelDir = modelDir;
        this.files = files;
    }

    public VoicePreset load(String name) {
        checkName(name);
        String[] relative = relativePaths(name);
        Path[] paths = new Path[3];
        for (int i = 0; i < 3; i++) {
            try {
                paths[i] = files.apply(relative[i]);
            } catch (ModelDownloadException e) {
                throw new InvalidVoiceException("Voice '" + name + "' could not be fetched: " + e.getMessage(), e);
            }
            if (!Files.isRegularFile(paths[i])) {
                throw new InvalidVoiceException("Voice '" + name + "' not found in " + modelDir + " (no " + relative[i]
                        + "); available: " + abbreviated(names()));
            }
        }
        return PresetFiles.readNpy(paths[0], paths[1], paths[2]);
    }

    /** Paths from the index when it names the preset, else the conventional layout. */
    private String[] relativePaths(String name) {
        JsonObject index = index();
        String[] out = new String[3];
        JsonElement entry = index == null ? null : index.get(name);
        for (int i = 0; i < 3; i++) {
            String p = null;
            if (entry != null && entry.isJsonObject() && entry.getAsJsonObject().has(PARTS[i])) {
                p = entry.getAsJsonObject().get(PARTS[i]).getAsString();
            }
            if (p == null) {
                p = "speaker_embeddings/" + name + "_" + PARTS[i] + ".npy";
            }
            checkRelative(name, p);
            out[i] = p;
        }
        return out;
    }

    /** Sorted preset names from the index, or from the files present when there is no index. */
    public List<String> names() {
        TreeSet<String> names = new TreeSet<>();
        JsonObject index = index();
        if (index != null) {
            for (var e : index.entrySet()) {
                if (e.getValue().isJsonObject()) {
                    names.add(e.getKey());
                }
            }
        } else {
            Path emb = modelDir.resolve("speaker_embeddings");
            if (Files.isDirectory(emb)) {
                try (Stream<Path> walk = Files.walk(emb)) {
                    walk.map(p -> emb.relativize(p).toString().replace('\\', '/'))
                            .filter(p -> p.endsWith("_semantic_prompt.npy"))
                            .forEach(p -> names.add(p.substring(0, p.length() - "_semantic_prompt.npy".length())));
                } catch (IOException e) {
                    throw new InvalidVoiceException("Cannot list voices in " + emb + ": " + e.getMessage(), e);
                }
            }
        }
        return new ArrayList<>(names);
    }

    private JsonObject index() {
        Path file = modelDir.resolve(INDEX);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            return root.isJsonObject() ? root.getAsJsonObject() : null;
        } catch (IOException | RuntimeException e) {
            throw new InvalidVoiceException("Malformed " + file + ": " + e.getMessage(), e);
        }
    }

    private static void checkName(String name) {
        if (name.isBlank() || name.contains("..") || name.startsWith("/") || name.contains("\\")) {
            throw new InvalidVoiceException("Invalid voice name '" + name + "'");
        }
    }

    private static void checkRelative(String name, String p) {
        if (p.startsWith("/") || p.contains("..") || p.contains("\\") || !p.endsWith(".npy")) {
            throw new InvalidVoiceException("Voice '" + name + "' points outside the model folder: " + p);
        }
    }

    private static String abbreviated(List<String> names) {
        if (names.isEmpty()) {
            return "none";
        }
        return names.size() <= 8 ? String.join(", ", names) : String.join(", ", names.subList(0, 8)) + ", …";
    }
}
